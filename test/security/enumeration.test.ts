// Threat: account enumeration. An attacker who can tell "no such user" from "wrong password"
// (by the status, the body, or the time the answer takes) learns which accounts exist and
// aims a password-guessing or phishing campaign at them. Every login endpoint must answer an
// unknown user, a wrong password, an inactive account (even with its right password), an
// account without a password and another tenant's user identically, and must spend the same
// work on each: exactly one argon2id verification, counted with a counting hasher rather than
// timed. A coarse timing comparison is printed as information only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { countingHasher, fastHasher } from '../helpers/app.ts';
import { MAX_PASSWORD_BYTES } from '../../src/core/index.ts';
import { PASSWORD, startLive, type Live, type Reply } from './support.ts';

interface LoginEndpoint {
  name: string;
  login(live: Live, username: string, password: string, tenant?: string): Promise<Reply>;
  refused: { status: number; body: unknown };
}

const endpoints: LoginEndpoint[] = [
  {
    name: 'v1 POST /api/token',
    login: (live, username, password, tenant) =>
      live.call('POST', '/api/token', { json: { username, password }, headers: tenant ? { 'x-tenant': tenant } : {} }),
    refused: { status: 401, body: { detail: 'No active account found with the given credentials' } },
  },
  {
    name: 'oauth2-v2 POST /token',
    login: (live, username, password, tenant) =>
      live.call('POST', '/token', { form: { grant_type: 'password', username, password }, headers: tenant ? { 'x-tenant': tenant } : {} }),
    refused: {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Incorrect username or password', detail: 'Incorrect username or password' },
    },
  },
];

for (const { engine, skip } of engines) {
  describe(`account enumeration [${engine.name}]`, { skip }, () => {
    const { hasher, counts } = countingHasher(fastHasher());
    let live: Live;

    before(async () => {
      live = await startLive(engine, { hasher });
      await live.t.createUser({ username: 'alice', password: PASSWORD });
      await live.t.createUser({ username: 'sleeper', password: PASSWORD, isActive: false });
      await live.t.createUser({ username: 'nopass' }); // no password: cannot sign in with one
      await live.t.core.tenants.create('acme', 'Acme');
      await live.t.createUser({ username: 'eve', password: PASSWORD, tenant: 'acme' });
      // The same names fail many times over here: keep the sign-in throttle (itself blind to
      // whether a name exists) out of the comparison.
      for (const t of ['default', 'acme']) {
        const tenant = await live.t.core.tenants.resolve(t);
        await live.t.store.read.settings.put(tenant.pk, 'login_throttle_threshold', '100', Date.now());
        await live.t.store.read.settings.put(tenant.pk, 'login_lockout_threshold', '100', Date.now());
        live.t.core.settings.invalidate(tenant.pk);
      }
    });
    after(async () => { await live?.close(); });

    // [what is tried, username, password]
    const attempts: Array<[string, string, string]> = [
      ['unknown user', 'nobody-here', PASSWORD],
      ['existing user, wrong password', 'alice', 'wrong-password-123'],
      ['inactive user, its right password', 'sleeper', PASSWORD],
      ['inactive user, wrong password', 'sleeper', 'wrong-password-123'],
      ['user without a password', 'nopass', PASSWORD],
      ['another tenant\'s user, its right password', 'eve', PASSWORD],
      ['existing user, other letter case', 'ALICE', PASSWORD],
      ['existing user, oversized password', 'alice', 'x'.repeat(MAX_PASSWORD_BYTES + 1)],
      ['unknown user, oversized password', 'nobody-here', 'x'.repeat(MAX_PASSWORD_BYTES + 1)],
      ['SQL-looking username', "alice' OR '1'='1", PASSWORD],
    ];

    for (const ep of endpoints) {
      it(`${ep.name}: every failed sign-in answers the same status and body, after exactly one hash verification`, async () => {
        for (const [what, username, password] of attempts) {
          const before = { ...counts };
          const r = await ep.login(live, username, password);
          assert.equal(r.status, ep.refused.status, `${what}: ${r.text}`);
          assert.deepEqual(r.body, ep.refused.body, what);
          assert.equal(counts.verify - before.verify, 1, `${what}: hash verifications`);
          assert.equal(counts.hash - before.hash, 0, `${what}: hashes computed`);
        }
        // The control: the right password signs in (and costs one verification too).
        const before = counts.verify;
        const r = await ep.login(live, 'alice', PASSWORD);
        assert.equal(r.status, 200, r.text);
        assert.equal(counts.verify - before, 1);
        // Eve signs in within her own tenant: the refusal above was about the tenant, not her password.
        assert.equal((await ep.login(live, 'eve', PASSWORD, 'acme')).status, 200);
      });

      it(`${ep.name}: the answers carry no header that differs between an unknown and a known account`, async () => {
        const unknown = await ep.login(live, 'nobody-here', 'wrong-password-123');
        const known = await ep.login(live, 'alice', 'wrong-password-123');
        const pick = (r: Reply) => [...r.headers.entries()].filter(([k]) => !['date', 'x-request-id', 'keep-alive', 'connection'].includes(k));
        assert.deepEqual(pick(known), pick(unknown));
      });

      it(`${ep.name}: timing of unknown vs known accounts (information only, not asserted)`, async (t) => {
        const time = async (username: string) => {
          const start = process.hrtime.bigint();
          for (let i = 0; i < 10; i++) await ep.login(live, username, 'wrong-password-123');
          return Number(process.hrtime.bigint() - start) / 10 / 1e6;
        };
        await time('alice'); // warm up
        const known = await time('alice');
        const unknown = await time('nobody-here');
        t.diagnostic(`mean of 10: known ${known.toFixed(2)} ms, unknown ${unknown.toFixed(2)} ms, ratio ${(known / unknown).toFixed(2)}`);
      });
    }
  });
}
