// Threat: online password guessing. An attacker tries passwords against one account (or one
// password against many accounts) through any sign-in route: the v1 and OAuth2 token
// endpoints, REST-auth login by name or by e-mail, and HTTP Basic on every request. Guessing
// must slow down (after `login_throttle_threshold` failures each attempt waits 1 s, doubling
// to 5 min: 429 with Retry-After), stop (after `login_lockout_threshold` failures, at most
// 100 as NIST SP 800-63B §5.2.2 requires, the account is locked until a password reset or an
// administrator unlocks it), and one client address may not fail more than `login_ip_limit`
// times in a rolling minute (a short rate, healed within the minute: see
// address-rate.test.ts for its own threat). Neither parallel bursts nor switching between the account's name and
// e-mail address may get more guesses than the limit, and unknown names are slowed and locked
// exactly like real ones (no enumeration). Limits are tenant settings. Time is a manual clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { countingHasher, fastHasher } from '../helpers/app.ts';
import { startSmtpSink, linkParam, type SmtpSink } from '../helpers/smtp-sink.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { ManualClock, type User } from '../../src/core/index.ts';
import { PASSWORD, startLive, v1Login, type Live, type Reply } from './support.ts';

const WRONG = 'not-the-password-1';
const LOCKED = 'This account is locked after too many failed sign-ins. Reset the password, or ask an administrator to unlock it.';
const wait = (s: number) => `Too many failed sign-ins. Try again in ${s} seconds.`;
const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });

interface Route {
  name: string;
  /** Signs in (or authenticates one request) with a name or e-mail and a password. */
  attempt(live: Live, user: { username: string; email: string }, password: string): Promise<Reply>;
  ok: number;
  bad: { status: number; body: unknown };
  throttled(seconds: number): { status: number; body: unknown };
  locked: { status: number; body: unknown };
}

/** /api/auth/login/ answers alike whether the account is named by username or by e-mail. */
const REST_AUTH_LOGIN_ANSWERS: Omit<Route, 'name' | 'attempt'> = {
  ok: 200,
  bad: { status: 400, body: { non_field_errors: ['Unable to log in with provided credentials.'] } },
  throttled: (s) => ({ status: 429, body: { detail: wait(s) } }),
  locked: { status: 403, body: { detail: LOCKED } },
};

const routes: Route[] = [
  {
    name: 'v1 POST /api/token',
    attempt: (live, u, password) => live.call('POST', '/api/token', { json: { username: u.username, password } }),
    ok: 200,
    bad: { status: 401, body: { detail: 'No active account found with the given credentials' } },
    throttled: (s) => ({ status: 429, body: { detail: wait(s) } }),
    locked: { status: 403, body: { detail: LOCKED } },
  },
  {
    name: 'OAuth2 POST /token',
    attempt: (live, u, password) => live.call('POST', '/token', { form: { grant_type: 'password', username: u.username, password } }),
    ok: 200,
    bad: { status: 400, body: { error: 'invalid_grant', error_description: 'Incorrect username or password', detail: 'Incorrect username or password' } },
    throttled: (s) => ({ status: 429, body: { error: 'slow_down', error_description: wait(s), detail: wait(s) } }),
    locked: { status: 400, body: { error: 'invalid_grant', error_description: LOCKED, detail: LOCKED } },
  },
  {
    name: 'REST-auth login by username',
    attempt: (live, u, password) => live.call('POST', '/api/auth/login/', { json: { username: u.username, password } }),
    ...REST_AUTH_LOGIN_ANSWERS,
  },
  {
    name: 'REST-auth login by e-mail',
    attempt: (live, u, password) => live.call('POST', '/api/auth/login/', { json: { email: u.email, password } }),
    ...REST_AUTH_LOGIN_ANSWERS,
  },
  {
    name: 'HTTP Basic on GET /api/auth/user/',
    attempt: (live, u, password) => live.call('GET', '/api/auth/user/', { headers: basic(u.username, password) }),
    ok: 200,
    bad: { status: 401, body: { detail: 'Invalid username/password.' } },
    throttled: (s) => ({ status: 429, body: { detail: wait(s) } }),
    locked: { status: 403, body: { detail: LOCKED } },
  },
  {
    name: 'HTTP Basic on GET /user_info/ (AuthN)',
    attempt: (live, u, password) => live.call('GET', '/user_info/', { headers: basic(u.username, password) }),
    ok: 200,
    bad: { status: 401, body: { errors: [], message: 'Invalid username/password.', status: 401 } },
    throttled: (s) => ({ status: 429, body: { errors: [], message: wait(s), status: 429 } }),
    locked: { status: 403, body: { errors: [], message: LOCKED, status: 403 } },
  },
];

for (const { engine, skip } of engines) {
  describe(`brute force [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock(Date.now());
    const { hasher, counts } = countingHasher(fastHasher());
    let live: Live;
    let smtp: SmtpSink;
    let staff: User;
    let n = 0;
    const fresh = async () => {
      const username = `target${++n}`;
      await live.t.createUser({ username, password: PASSWORD, email: `${username}@example.com` });
      return { username, email: `${username}@example.com` };
    };
    const staffToken = async () => (await v1Login(live, staff.username)).access;
    const setting = async (key: string, value: string) => {
      const r = await live.call('POST', '/api/configuration/', { bearer: await staffToken(), json: { key, value } });
      assert.equal(r.status, 201, r.text);
    };
    /** Moves past every delay and the address window, so that only the account count matters. */
    const later = () => clock.advance(901_000);
    function expect(r: Reply, want: { status: number; body: unknown }, what: string) {
      assert.equal(r.status, want.status, `${what}: ${r.text}`);
      assert.deepEqual(r.body, want.body, what);
    }

    before(async () => {
      smtp = await startSmtpSink();
      live = await startLive(engine, { clock, hasher, mailer: smtpMailer(smtp.url) });
      staff = await live.t.createUser({ username: 'staff', password: PASSWORD, isStaff: true });
      // Every attempt here comes from one address: the per-address rate (10 a minute by default)
      // is set out of the way, so the account rules are seen alone, and tested on its own below.
      await setting('login_ip_limit', '100000');
    });
    after(async () => {
      await live?.close();
      await smtp?.close();
    });

    for (const route of routes) {
      it(`${route.name}: 99 failures leave the account usable; the 100th locks it, for the right password too and in every API (defaults)`, async () => {
        const u = await fresh();
        for (let i = 1; i <= 99; i++) {
          later();
          expect(await route.attempt(live, u, WRONG), route.bad, `failure ${i}`);
        }
        later();
        const right = await route.attempt(live, u, PASSWORD);
        assert.equal(right.status, route.ok, right.text); // the count restarts after a success
        for (let i = 1; i <= 100; i++) {
          later();
          expect(await route.attempt(live, u, WRONG), route.bad, `failure ${i} after the success`);
        }
        later();
        const before = counts.verify;
        expect(await route.attempt(live, u, PASSWORD), route.locked, 'the right password, locked');
        expect(await route.attempt(live, u, WRONG), route.locked, 'a wrong one, locked');
        for (const other of routes) expect(await other.attempt(live, u, PASSWORD), other.locked, `locked at ${other.name}`);
        assert.equal(counts.verify, before, 'a locked account costs no hash and checks no password');
      });
    }

    it('an unknown name is slowed and locked exactly like a real one', async () => {
      const real = await fresh();
      const ghost = { username: 'nobody-at-all', email: 'nobody-at-all@example.com' };
      await setting('login_throttle_threshold', '3');
      await setting('login_lockout_threshold', '6');
      try {
        const seen: Array<[Reply, Reply]> = [];
        for (let i = 0; i < 8; i++) {
          seen.push([await routes[0]!.attempt(live, real, WRONG), await routes[0]!.attempt(live, ghost, WRONG)]);
          if (i % 2) clock.advance(5000);
        }
        for (const [a, b] of seen) {
          assert.equal(a.status, b.status);
          assert.deepEqual(a.body, b.body);
          assert.equal(a.headers.get('retry-after'), b.headers.get('retry-after'));
        }
        assert.deepEqual(seen.map(([a]) => a.status), [401, 401, 401, 429, 401, 429, 401, 429]);
        later();
        expect(await routes[0]!.attempt(live, ghost, WRONG), routes[0]!.bad, 'ghost, sixth failure');
        expect(await routes[0]!.attempt(live, real, WRONG), routes[0]!.bad, 'real, sixth failure');
        expect(await routes[0]!.attempt(live, ghost, WRONG), routes[0]!.locked, 'ghost locked');
        expect(await routes[0]!.attempt(live, real, PASSWORD), routes[0]!.locked, 'real locked');
      } finally {
        await setting('login_throttle_threshold', '5');
        await setting('login_lockout_threshold', '100');
      }
    });

    for (const route of routes) {
      it(`${route.name}: after 5 failures each attempt waits 1 s, doubling to 5 min (429 + Retry-After), even with the right password`, async () => {
        const u = await fresh();
        later();
        for (let i = 1; i <= 5; i++) expect(await route.attempt(live, u, WRONG), route.bad, `failure ${i}`);
        const delays: number[] = [];
        for (let step = 0; step < 11; step++) {
          const expected = Math.min(2 ** step, 300);
          const refused = await route.attempt(live, u, PASSWORD);
          expect(refused, route.throttled(expected), `step ${step}`);
          assert.equal(refused.headers.get('retry-after'), String(expected));
          clock.advance(expected * 1000 - 1);
          const early = await route.attempt(live, u, WRONG);
          expect(early, route.throttled(1), `1 ms early at step ${step}`); // refusals are not counted
          clock.advance(1);
          expect(await route.attempt(live, u, WRONG), route.bad, `allowed after ${expected} s`);
          delays.push(expected);
        }
        assert.deepEqual(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        clock.advance(300_000);
        assert.equal((await route.attempt(live, u, PASSWORD)).status, route.ok, 'the right password after the wait');
        expect(await route.attempt(live, u, WRONG), route.bad, 'a success resets the count');
      });
    }

    for (const route of [routes[0]!, routes[2]!, routes[4]!]) {
      it(`${route.name}: 12 parallel sign-ins with the right password all succeed (attempts in flight do not slow a real user)`, async () => {
        const u = await fresh();
        later();
        const replies = await Promise.all(Array.from({ length: 12 }, () => route.attempt(live, u, PASSWORD)));
        assert.deepEqual(replies.map((r) => r.status), replies.map(() => route.ok), replies.map((r) => r.text).join('\n'));
        expect(await route.attempt(live, u, WRONG), route.bad, 'the count starts again afterwards');
      });
    }

    it('the limits are tenant settings, changed through the API', async () => {
      const u = await fresh();
      await setting('login_throttle_threshold', '2');
      await setting('login_lockout_threshold', '5');
      try {
        const r = routes[2]!;
        later();
        expect(await r.attempt(live, u, WRONG), r.bad, '1');
        expect(await r.attempt(live, u, WRONG), r.bad, '2');
        expect(await r.attempt(live, u, WRONG), r.throttled(1), 'third at once');
        for (let i = 3; i <= 5; i++) {
          later();
          expect(await r.attempt(live, u, WRONG), r.bad, `${i}`);
        }
        later();
        expect(await r.attempt(live, u, PASSWORD), r.locked, 'locked at 5');
        const bad = await live.call('POST', '/api/configuration/', { bearer: await staffToken(), json: { key: 'login_lockout_threshold', value: '101' } });
        expect(bad, { status: 400, body: { value: ['Must be between 5 and 100.'] } }, 'NIST upper bound');
      } finally {
        await setting('login_throttle_threshold', '5');
        await setting('login_lockout_threshold', '100');
      }
    });

    describe('with a low lockout (5) and no delay', () => {
      before(async () => {
        await setting('login_throttle_threshold', '100');
        await setting('login_lockout_threshold', '5');
      });
      after(async () => {
        await setting('login_throttle_threshold', '5');
        await setting('login_lockout_threshold', '100');
      });

      for (const route of [routes[0]!, routes[1]!, routes[4]!]) {
        it(`${route.name}: 30 guesses in parallel check at most 5 passwords`, async () => {
          const u = await fresh();
          later();
          const before = counts.verify;
          const replies = await Promise.all(Array.from({ length: 30 }, () => route.attempt(live, u, WRONG)));
          const checked = counts.verify - before;
          assert.ok(checked <= 5, `${checked} passwords were checked in one burst; the lockout allows 5`);
          assert.equal(replies.filter((r) => r.status === route.bad.status && JSON.stringify(r.body) === JSON.stringify(route.bad.body)).length, checked);
          for (const r of replies) if (r.status !== route.bad.status) expect(r, route.locked, 'the rest are locked out');
          expect(await route.attempt(live, u, PASSWORD), route.locked, 'locked afterwards');
        });
      }

      it('switching between the name and the e-mail address gets no more guesses', async () => {
        const u = await fresh();
        later();
        const before = counts.verify;
        const byName = routes[2]!;
        const byEmail = routes[3]!;
        for (let i = 0; i < 12; i++) await (i % 2 ? byEmail : byName).attempt(live, u, WRONG);
        assert.ok(counts.verify - before <= 5, `${counts.verify - before} passwords checked; the lockout allows 5`);
        expect(await byName.attempt(live, u, PASSWORD), byName.locked, 'by name');
        expect(await byEmail.attempt(live, u, PASSWORD), byEmail.locked, 'by e-mail');
        expect(await routes[0]!.attempt(live, u, PASSWORD), routes[0]!.locked, 'v1');
      });

      it('a lock is lifted by staff of the tenant (not by the user, nor by another tenant\'s staff), and by a password reset', async () => {
        const u = await fresh();
        const user = (await live.t.store.read.users.findByUsername(staff.tenantPk, u.username))!;
        later();
        for (let i = 0; i < 5; i++) await routes[0]!.attempt(live, u, WRONG);
        expect(await routes[0]!.attempt(live, u, PASSWORD), routes[0]!.locked, 'locked');
        // Another tenant's staff and an ordinary user cannot unlock.
        if (!(await live.t.core.tenants.findByName('acme'))) await live.t.core.tenants.create('acme', 'Acme');
        await live.t.createUser({ username: `eve${n}`, password: PASSWORD, tenant: 'acme', isStaff: true });
        const eve = await v1Login(live, `eve${n}`, PASSWORD, { 'x-tenant': 'acme' });
        expect(await live.call('POST', `/api/users/${user.id}/unlock/`, { bearer: eve.access }), { status: 404, body: { detail: 'Not found.' } }, 'other tenant');
        const someone = await fresh();
        const theirs = await v1Login(live, someone.username);
        expect(await live.call('POST', `/api/users/${user.id}/unlock/`, { bearer: theirs.access }), { status: 403, body: { detail: 'You do not have permission to perform this action.' } }, 'a user');
        expect(await routes[0]!.attempt(live, u, PASSWORD), routes[0]!.locked, 'still locked');
        const un = await live.call('POST', `/api/users/${user.id}/unlock/`, { bearer: await staffToken() });
        expect(un, { status: 200, body: { detail: 'Unlocked.' } }, 'staff');
        assert.equal((await routes[0]!.attempt(live, u, PASSWORD)).status, 200);
        // Locked again, then a password reset through the e-mailed link lifts it.
        later();
        for (let i = 0; i < 5; i++) await routes[2]!.attempt(live, u, WRONG);
        expect(await routes[2]!.attempt(live, u, PASSWORD), routes[2]!.locked, 'locked again');
        const mails = smtp.messages.filter((m) => m.to.includes(u.email)).length;
        const reset = await live.call('POST', '/api/auth/password/reset/', { json: { email: u.email } });
        assert.equal(reset.status, 200);
        const m = await smtp.next(u.email, mails);
        const confirm = await live.call('POST', '/api/auth/password/reset/confirm/', {
          json: { uid: linkParam(m, 'uid'), token: linkParam(m, 'token'), new_password1: 'a-brand-new-passphrase', new_password2: 'a-brand-new-passphrase' },
        });
        assert.equal(confirm.status, 200, confirm.text);
        assert.equal((await routes[2]!.attempt(live, u, 'a-brand-new-passphrase')).status, 200);
      });
    });

    it('one address may fail 10 times in a rolling minute (login_ip_limit), whatever names it tries', async () => {
      const victim = await fresh();
      await setting('login_ip_limit', '10');
      try {
        later();
        for (let i = 0; i < 10; i++) {
          const r = await routes[i % 2]!.attempt(live, { username: `spray-${i}`, email: '' }, WRONG);
          assert.ok([401, 400].includes(r.status), r.text);
        }
        const refused = await routes[0]!.attempt(live, victim, PASSWORD);
        const wait = Number(refused.headers.get('retry-after'));
        assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}: the address heals within the minute`);
        expect(refused, { status: 429, body: { detail: `Too many failed sign-ins from this address. Try again in ${wait} seconds.` } }, 'the 11th, even a right password');
        clock.advance((wait - 1) * 1000);
        expect(await routes[2]!.attempt(live, victim, PASSWORD), { status: 429, body: { detail: 'Too many failed sign-ins from this address. Try again in 1 seconds.' } }, 'REST-auth, a second early');
        clock.advance(1000);
        assert.equal((await routes[0]!.attempt(live, victim, PASSWORD)).status, 200, 'the minute has passed');
      } finally {
        later();
        await setting('login_ip_limit', '100000');
      }
    });
  });
}
