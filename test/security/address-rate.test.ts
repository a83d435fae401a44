// Threat: one address locks everyone out. Behind a reverse proxy without TRUST_PROXY (the
// default) every user shares the proxy's address, so a limit per address is a limit on all of
// them: with 300 failures allowed per 15 minutes, a stranger's script (or the typos of a large
// user base) stopped every sign-in, right passwords included, for up to 15 minutes. The
// per-address limit is now a short rolling rate (django-allauth's anchor, `login_ip_limit` = 10
// failures a minute): a tripped address heals within the minute, a guessing run from one address
// over many names is held to that rate, and the per-account throttle and lockout (which a
// guesser cannot escape by changing address) stay as they were. Addresses are set per request
// (the test's origin hook: inject's remoteAddress); time is a manual clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { countingHasher, fastHasher, startApp, type TestApp } from '../helpers/app.ts';
import { ManualClock } from '../../src/core/index.ts';

const PASSWORD = 'address-rate-pass-1';
const WRONG = 'not-the-password-1';

for (const { engine, skip } of engines) {
  describe(`one address cannot lock everyone out [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock(Date.now());
    const { hasher, counts } = countingHasher(fastHasher());
    let t: TestApp;
    let n = 0;
    const signIn = (ip: string, username: string, password: string) =>
      t.request({ method: 'POST', url: '/api/token', remoteAddress: ip, payload: { username, password } });
    const user = async () => {
      const username = `member${++n}`;
      await t.createUser({ username, password: PASSWORD });
      return username;
    };
    const setting = async (key: string, value: string) => {
      const tenant = await t.core.tenants.resolve(undefined);
      await t.store.read.settings.put(tenant.pk, key, value, clock.now());
      t.core.settings.invalidate(tenant.pk);
    };
    /** Moves past every window and delay. */
    const later = () => clock.advance(3_600_000);

    before(async () => {
      t = await startApp(engine, { clock, hasher });
    });
    after(async () => {
      await t?.close();
    });

    it('an address that tripped the limit signs a different account in again at most a minute later (defaults)', async () => {
      later();
      const proxy = '192.0.2.10';
      const colleague = await user();
      for (let i = 0; i < 10; i++) assert.equal((await signIn(proxy, `typo-${n}-${i}`, WRONG)).statusCode, 401);
      const refused = await signIn(proxy, colleague, PASSWORD);
      assert.equal(refused.statusCode, 429, refused.body);
      const wait = Number(refused.headers['retry-after']);
      assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}`);
      assert.deepEqual(refused.json(), { detail: `Too many failed sign-ins from this address. Try again in ${wait} seconds.` });
      assert.equal((await signIn('198.51.100.10', colleague, PASSWORD)).statusCode, 200, 'another address is not held');
      clock.advance(60_000);
      assert.equal((await signIn(proxy, colleague, PASSWORD)).statusCode, 200, 'a minute later the shared address signs in again');
    });

    // A failure counts for 50 to 60 s (six 10-second buckets, see rolling-limit.ts): so at most 10
    // in any 50 s, about 10 to 12 a minute over a long run, and never held for more than a minute.
    it('a guessing run over many names from one address is held to the rate: at most 10 failures in any 50 s', async () => {
      later();
      const ip = '192.0.2.20';
      const start = clock.now();
      const before = counts.verify;
      const failures: number[] = [];
      let held = 0;
      // Ten minutes, one new name a second.
      for (let s = 0; s < 600; s++) {
        const r = await signIn(ip, `guess-${n}-${s}`, WRONG);
        if (r.statusCode === 401) failures.push(clock.now());
        else {
          assert.equal(r.statusCode, 429, r.body);
          held++;
        }
        clock.advance(1000);
      }
      for (const [i, at] of failures.entries()) {
        const inWindow = failures.slice(i).filter((x) => x < at + 50_000).length;
        assert.ok(inWindow <= 10, `${inWindow} failures in the 50 s from ${(at - start) / 1000} s`);
      }
      assert.ok(failures.length >= 100 && failures.length <= 130, `${failures.length} guesses in 10 minutes: the rate is 10 to 12 a minute`);
      assert.equal(counts.verify - before, failures.length, 'a held attempt costs no password check');
      assert.equal(held, 600 - failures.length);
    });

    it('the per-account lockout still holds when every guess comes from another address', async () => {
      later();
      await setting('login_throttle_threshold', '100');
      await setting('login_lockout_threshold', '5');
      try {
        const victim = await user();
        for (let i = 0; i < 5; i++) assert.equal((await signIn(`203.0.113.${i + 1}`, victim, WRONG)).statusCode, 401);
        const locked = await signIn('203.0.113.99', victim, PASSWORD);
        assert.equal(locked.statusCode, 403, locked.body);
        assert.match(locked.json().detail, /locked/);
      } finally {
        await setting('login_throttle_threshold', '5');
        await setting('login_lockout_threshold', '100');
      }
    });

    it('and the per-account delay too: after 5 failures from 5 addresses the 6th attempt waits, from any address', async () => {
      later();
      const victim = await user();
      for (let i = 0; i < 5; i++) assert.equal((await signIn(`203.0.113.${i + 10}`, victim, WRONG)).statusCode, 401);
      const r = await signIn('203.0.113.50', victim, PASSWORD);
      assert.equal(r.statusCode, 429, r.body);
      assert.deepEqual(r.json(), { detail: 'Too many failed sign-ins. Try again in 1 seconds.' });
    });
  });
}
