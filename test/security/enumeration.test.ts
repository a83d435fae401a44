// Threat: account enumeration. An attacker who can tell "no such user" from "wrong password"
// (by the status, the body, or the time the answer takes) learns which accounts exist and
// aims a password-guessing or phishing campaign at them. Every login endpoint must answer an
// unknown user, a wrong password, an inactive account (even with its right password), an
// account without a password and another tenant's user identically, and must spend the same
// work on each: exactly one argon2id verification, counted with a counting hasher rather than
// timed. Password reset, verification resend and registration must not tell a known e-mail
// address from an unknown one either (the message goes out after the answer). A coarse timing
// comparison is printed as information only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { countingHasher, fastHasher } from '../helpers/app.ts';
import { MAX_PASSWORD_BYTES } from '../../src/core/index.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
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
  {
    name: 'REST-auth POST /api/auth/login/ by username',
    login: (live, username, password, tenant) =>
      live.call('POST', '/api/auth/login/', { json: { username, password }, headers: tenant ? { 'x-tenant': tenant } : {} }),
    refused: { status: 400, body: { non_field_errors: ['Unable to log in with provided credentials.'] } },
  },
  {
    name: 'REST-auth POST /api/auth/login/ by e-mail',
    login: (live, username, password, tenant) =>
      live.call('POST', '/api/auth/login/', { json: { email: `${username}@example.com`, password }, headers: tenant ? { 'x-tenant': tenant } : {} }),
    refused: { status: 400, body: { non_field_errors: ['Unable to log in with provided credentials.'] } },
  },
  {
    name: 'HTTP Basic on GET /api/auth/user/',
    login: (live, username, password, tenant) =>
      live.call('GET', '/api/auth/user/', { headers: { authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64'), ...(tenant ? { 'x-tenant': tenant } : {}) } }),
    refused: { status: 401, body: { detail: 'Invalid username/password.' } },
  },
];

for (const { engine, skip } of engines) {
  describe(`account enumeration [${engine.name}]`, { skip }, () => {
    const { hasher, counts } = countingHasher(fastHasher());
    let live: Live;
    let smtp: SmtpSink;

    before(async () => {
      smtp = await startSmtpSink();
      live = await startLive(engine, { hasher, mailer: smtpMailer(smtp.url) });
      await live.t.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' });
      await live.t.createUser({ username: 'sleeper', password: PASSWORD, isActive: false, email: 'sleeper@example.com' });
      await live.t.createUser({ username: 'nopass', email: 'nopass@example.com' }); // no password: cannot sign in with one
      await live.t.core.tenants.create('acme', 'Acme');
      await live.t.createUser({ username: 'eve', password: PASSWORD, tenant: 'acme', email: 'eve@example.com' });
      // The same names fail many times over here: keep the sign-in throttle (itself blind to
      // whether a name exists) out of the comparison.
      for (const t of ['default', 'acme']) {
        const tenant = await live.t.core.tenants.resolve(t);
        await live.t.store.read.settings.put(tenant.pk, 'login_throttle_threshold', '100', Date.now());
        await live.t.store.read.settings.put(tenant.pk, 'login_lockout_threshold', '100', Date.now());
        // Likewise the per-address limits (every request here comes from one address, and asks
        // about one address many times): tested in address-rate.test.ts and email-flood.test.ts.
        for (const key of ['login_ip_limit', 'password_reset_email_limit', 'verification_email_limit']) await live.t.store.read.settings.put(tenant.pk, key, '1000', Date.now());
        live.t.core.settings.invalidate(tenant.pk);
      }
    });
    after(async () => {
      await live?.close();
      await smtp?.close();
    });
    /** Each case starts with no failures counted (the throttle is tested in brute-force.test.ts). */
    const forgetFailures = () => live.t.store.db.deleteFrom('login_failures').execute();

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
        await forgetFailures();
        for (const [what, username, password] of attempts) {
          // E-mail addresses match without regard to case (as allauth's): `ALICE@example.com` is alice.
          if (ep.name.endsWith('by e-mail') && what === 'existing user, other letter case') continue;
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
        await forgetFailures();
        const unknown = await ep.login(live, 'nobody-here', 'wrong-password-123');
        const known = await ep.login(live, 'alice', 'wrong-password-123');
        const pick = (r: Reply) => [...r.headers.entries()].filter(([k]) => !['date', 'x-request-id', 'keep-alive', 'connection', 'set-cookie'].includes(k));
        assert.deepEqual(pick(known), pick(unknown));
      });

      it(`${ep.name}: timing of unknown vs known accounts (information only, not asserted)`, async (t) => {
        await forgetFailures();
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

    // [route, body for an e-mail, the one answer]
    const byAddress: Array<[string, (email: string) => unknown, number, unknown]> = [
      ['password reset', (email) => ({ email }), 200, { detail: 'Password reset e-mail has been sent.' }],
      ['verification resend', (email) => ({ email }), 201, { detail: 'ok' }],
    ];
    for (const [what, body, status, answer] of byAddress) {
      const path = what === 'password reset' ? '/api/auth/password/reset/' : '/api/auth/registration/resend-email/';
      it(`${what}: the same status, body and headers for a known, an inactive, another tenant's and an unknown address, with no hashing`, async () => {
        const replies: Reply[] = [];
        const before = { ...counts };
        for (const email of ['alice@example.com', 'sleeper@example.com', 'eve@example.com', 'nobody-here@example.com', 'ALICE@EXAMPLE.COM']) {
          const r = await live.call('POST', path, { json: body(email) });
          assert.equal(r.status, status, `${email}: ${r.text}`);
          assert.deepEqual(r.body, answer, email);
          replies.push(r);
        }
        assert.deepEqual(counts, before, 'no hash computed or verified');
        const pick = (r: Reply) => [...r.headers.entries()].filter(([k]) => !['date', 'x-request-id', 'keep-alive', 'connection'].includes(k));
        for (const r of replies) assert.deepEqual(pick(r), pick(replies[0]!));
      });
    }

    it('password reset: the message goes out after the answer, to the known active address only', async () => {
      const sent = smtp.messages.length;
      for (const email of ['nobody-here@example.com', 'sleeper@example.com', 'alice@example.com']) {
        assert.equal((await live.call('POST', '/api/auth/password/reset/', { json: { email } })).status, 200);
      }
      const m = await smtp.next('alice@example.com', smtp.messages.filter((x) => x.to.includes('alice@example.com')).length - (smtp.messages.length - sent > 0 ? 1 : 0));
      assert.ok(m.text.includes('reset'), 'a reset message to alice');
      await live.t.core.outbox.idle();
      const extra = smtp.messages.slice(sent).flatMap((x) => x.to);
      assert.ok(!extra.includes('nobody-here@example.com') && !extra.includes('sleeper@example.com'), extra.join(','));
    });

    it('registration: an address already used by an account is accepted like a new one (only a taken username is named, as in Django)', async () => {
      const reg = (username: string, email: string) => live.call('POST', '/api/auth/registration/', {
        json: { username, email, password1: 'a-long-passphrase-9', password2: 'a-long-passphrase-9' },
      });
      const taken = await reg('newcomer1', 'alice@example.com');
      const free = await reg('newcomer2', 'fresh-address@example.com');
      assert.deepEqual([taken.status, Object.keys(taken.body)], [201, ['key']]);
      assert.deepEqual([free.status, Object.keys(free.body)], [201, ['key']]);
      const name = await reg('alice', 'other-address@example.com');
      assert.deepEqual([name.status, name.body], [400, { username: ['A user with that username already exists.'] }]);
    });
  });
}
