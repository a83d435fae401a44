// The sign-in flow, through the core: one state machine behind every front-end.
//
// Threat: a step of a sign-in skipped or replayed. A tenant that makes verified addresses
// mandatory must not hand out a credential to an account whose address is unverified, through
// any front-end; a front-end that can continue the flow gets a pending flow instead, which
// completes only with a verification key of that account's own address, once, before it expires,
// and only while the account and its tenant still stand. A pending flow writes no sign-in (no
// family, session, last_login or audit row) until it completes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startSmtpSink, linkParam, type SmtpSink } from '../helpers/smtp-sink.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { createCore, ManualClock, OPERATOR, type Core, type SignInOutcome } from '../../src/core/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { fastHasher, outboxMailerForTests } from '../helpers/app.ts';
import { rejectsWith, PUBLIC_URL } from './support.ts';

const PW = 'a-long-passphrase-7';
const password = (identifier: string, by: 'username' | 'email' = 'username') => ({ method: 'password' as const, by, identifier, password: PW });

for (const { engine, skip } of engines) {
  describe(`sign-in flow: pending steps [${engine.name}]`, { skip }, () => {
    let core: Core;
    let store: Store;
    let smtp: SmtpSink;
    let drop: () => Promise<void>;
    const clock = new ManualClock();
    let n = 0;

    /** Registers an account whose address waits for verification; answers the key of its e-mail. */
    const registerUnverified = async (name: string): Promise<string> => {
      const before = smtp.messages.filter((m) => m.to.includes(`${name}@example.com`)).length;
      await core.registration.register(undefined, { username: name, email: `${name}@example.com`, password1: PW, password2: PW });
      return linkParam(await smtp.next(`${name}@example.com`, before), 'key');
    };
    const pending = async (name: string): Promise<Extract<SignInOutcome, { status: 'pending' }>> => {
      const out = await core.signIn.start({ tenant: undefined, factor: password(name), issue: { kind: 'token_pair' }, continuable: true });
      assert.equal(out.status, 'pending');
      return out as Extract<SignInOutcome, { status: 'pending' }>;
    };
    const signInRows = async (userPk: number) => {
      const user = (await store.read.users.findByPk(userPk))!;
      return {
        families: (await store.db.selectFrom('token_families').select('id').where('user_pk', '=', userPk).execute()).length,
        succeeded: (await store.db.selectFrom('audit_events').select('pk').where('type', '=', 'sign_in.succeeded').where('user_id', '=', user.id).execute()).length,
        lastLogin: user.lastLogin,
      };
    };

    before(async () => {
      smtp = await startSmtpSink();
      const db = await engine.create();
      drop = db.drop;
      store = openStore(db.url);
      core = createCore({ store, publicUrl: PUBLIC_URL, clock, hasher: fastHasher(), mailer: smtpMailer(smtp.url) });
      await core.prepare();
      const tenant = await core.tenants.resolve(undefined);
      await store.transaction((r) => r.settings.put(tenant.pk, 'email_verification_mandatory', 'true', clock.now()));
      core.settings.invalidate(tenant.pk);
    });
    after(async () => {
      await store?.close();
      await drop?.();
      await smtp?.close();
    });

    it('an unverified account stops at verify_email, and nothing of a sign-in is written', async () => {
      const name = `p${++n}`;
      await registerUnverified(name);
      const out = await pending(name);
      assert.equal(out.step, 'verify_email');
      assert.match(out.flowToken, /^[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(await signInRows(out.user.pk), { families: 0, succeeded: 0, lastLogin: null });
      // Only the hash of the flow's token is kept.
      const rows = await store.db.selectFrom('sign_in_flows').selectAll().where('user_pk', '=', out.user.pk).execute();
      assert.equal(rows.length, 1);
      assert.notEqual(rows[0]!.token_hash, out.flowToken);
    });

    it('a front-end that cannot continue is refused with SIGN_IN_PENDING and its step', async () => {
      const name = `p${++n}`;
      await registerUnverified(name);
      for (const issue of [{ kind: 'token_pair' }, { kind: 'session_and_key' }, { kind: 'request' }, { kind: 'identity' }] as const) {
        const err = await rejectsWith(core.signIn.now({ tenant: undefined, factor: password(name), issue }), 'SIGN_IN_PENDING');
        assert.equal(err.step, 'verify_email');
        assert.equal(err.message, 'E-mail is not verified.');
      }
    });

    it('the verification key of its own address completes the flow, with every write of a sign-in', async () => {
      const name = `p${++n}`;
      const key = await registerUnverified(name);
      const out = await pending(name);
      const done = await core.signIn.continue(out.flowToken, { step: 'verify_email', key });
      assert.equal(done.status, 'completed');
      assert.ok(done.status === 'completed' && done.issued.kind === 'token_pair');
      const principal = await core.credentials.accessToken(done.issued.access);
      assert.equal(principal.user.pk, out.user.pk);
      const rows = await signInRows(out.user.pk);
      assert.equal(rows.families, 1);
      assert.equal(rows.lastLogin, clock.now());
      // The flow is used up.
      await rejectsWith(core.signIn.continue(out.flowToken, { step: 'verify_email' }), 'TOKEN_INVALID');
    });

    it('a wrong key or a key of another account does not continue this one (nor is spent), and the flow stays pending', async () => {
      const a = `p${++n}`;
      const b = `p${++n}`;
      await registerUnverified(a);
      const keyB = await registerUnverified(b);
      const out = await pending(a);
      await rejectsWith(core.signIn.continue(out.flowToken, { step: 'verify_email', key: keyB }), 'VALIDATION_FAILED');
      await rejectsWith(core.signIn.continue(out.flowToken, { step: 'verify_email', key: 'made-up-key' }), 'VALIDATION_FAILED');
      assert.equal((await core.signIn.continue(out.flowToken, { step: 'verify_email' })).status, 'pending');
      assert.deepEqual(await signInRows(out.user.pk), { families: 0, succeeded: 0, lastLogin: null });
      // B's key was not spent on A's flow: it still verifies B's address.
      await core.emailVerification.verify(keyB);
      assert.equal((await store.read.users.findByUsername((await core.tenants.resolve(undefined)).pk, b))!.emailVerified, true);
    });

    it('continuing without a key only checks again: pending until verified by the link, then completed', async () => {
      const name = `p${++n}`;
      const key = await registerUnverified(name);
      const out = await pending(name);
      const again = await core.signIn.continue(out.flowToken, { step: 'verify_email' });
      assert.equal(again.status, 'pending');
      await core.emailVerification.verify(key); // the link followed in another tab
      const done = await core.signIn.continue(out.flowToken, { step: 'verify_email' });
      assert.equal(done.status, 'completed');
    });

    it('two requests racing to complete one flow: exactly one wins', async () => {
      const name = `p${++n}`;
      const key = await registerUnverified(name);
      const out = await pending(name);
      await core.emailVerification.verify(key);
      const results = await Promise.allSettled([1, 2, 3].map(() => core.signIn.continue(out.flowToken, { step: 'verify_email' })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal((await signInRows(out.user.pk)).families, 1);
    });

    it('an expired flow, a made-up token and a deactivated account are refused', async () => {
      const name = `p${++n}`;
      const key = await registerUnverified(name);
      const out = await pending(name);
      await rejectsWith(core.signIn.continue('not-a-flow', { step: 'verify_email', key }), 'TOKEN_INVALID');
      await rejectsWith(core.signIn.continue('', { step: 'verify_email', key }), 'TOKEN_INVALID');
      clock.advance(15 * 60_000);
      await rejectsWith(core.signIn.continue(out.flowToken, { step: 'verify_email', key }), 'TOKEN_INVALID');

      const other = `p${++n}`;
      const key2 = await registerUnverified(other);
      const out2 = await pending(other);
      const user = (await store.read.users.findByPk(out2.user.pk))!;
      await core.users.update({ ...(await adminPrincipal()), kind: 'user' }, user.id, { isActive: false });
      await rejectsWith(core.signIn.continue(out2.flowToken, { step: 'verify_email', key: key2 }), 'TOKEN_INVALID');
    });

    const adminPrincipal = async () => {
      const existing = await store.read.users.findByUsername((await core.tenants.resolve(undefined)).pk, 'flow-admin');
      const admin = existing ?? await core.users.create(OPERATOR, { username: 'flow-admin', password: PW, isStaff: true, isSuperuser: true });
      return { kind: 'user' as const, user: admin, tenant: await core.tenants.resolve(undefined), method: 'jwt' as const };
    };

    it('an identity sign-in (a front-end with its own session) completes with the account and records the sign-in', async () => {
      const name = `p${++n}`;
      const key = await registerUnverified(name);
      await core.emailVerification.verify(key);
      const done = await core.signIn.now({ tenant: undefined, factor: password(name), issue: { kind: 'identity' } });
      assert.equal(done.issued.user.username, name);
      const rows = await signInRows(done.user.pk);
      assert.deepEqual(rows, { families: 0, succeeded: 1, lastLogin: clock.now() });
    });

    it('a wrong password never reaches the pending step', async () => {
      const name = `p${++n}`;
      await registerUnverified(name);
      await rejectsWith(core.signIn.start({ tenant: undefined, factor: { ...password(name), password: 'not-it-at-all' }, issue: { kind: 'token_pair' }, continuable: true }), 'INVALID_CREDENTIALS');
    });
  });
}

for (const { engine, skip } of engines) {
  describe(`sign-in flow: registration signs its new user in through it [${engine.name}]`, { skip }, () => {
    let core: Core;
    let store: Store;
    let drop: () => Promise<void>;
    const clock = new ManualClock();
    before(async () => {
      const db = await engine.create();
      drop = db.drop;
      store = openStore(db.url);
      core = createCore({ store, publicUrl: PUBLIC_URL, clock, hasher: fastHasher(), mailer: outboxMailerForTests() });
      await core.prepare();
    });
    after(async () => {
      await store?.close();
      await drop?.();
    });

    it('a registration completes a sign-in: the session and key, last_login and the audit row of any sign-in', async () => {
      const r = await core.registration.register(undefined, { username: 'newcomer', password1: PW, password2: PW });
      assert.ok(r.key && r.session);
      const principal = await core.credentials.tokenKey(r.key);
      assert.equal(principal?.user.username, 'newcomer');
      const user = (await store.read.users.findByUsername((await core.tenants.resolve(undefined)).pk, 'newcomer'))!;
      assert.equal(user.lastLogin, clock.now());
      const rows = await store.db.selectFrom('audit_events').select(['type', 'detail']).where('user_id', '=', user.id).orderBy('pk').execute();
      assert.deepEqual(rows.map((x) => x.type), ['user.created', 'sign_in.succeeded']);
      assert.equal(JSON.parse(rows[1]!.detail).method, 'token_key');
    });

    it('with mandatory verification the new user is not signed in: nothing issued, no sign-in recorded', async () => {
      const tenant = await core.tenants.resolve(undefined);
      await store.transaction((x) => x.settings.put(tenant.pk, 'email_verification_mandatory', 'true', clock.now()));
      core.settings.invalidate(tenant.pk);
      const r = await core.registration.register(undefined, { username: 'waiter', email: 'waiter@example.com', password1: PW, password2: PW });
      assert.deepEqual(r, { key: null, session: null });
      const user = (await store.read.users.findByUsername(tenant.pk, 'waiter'))!;
      assert.equal(user.lastLogin, null);
      assert.equal((await store.db.selectFrom('sessions').select('id').where('user_pk', '=', user.pk).execute()).length, 0);
    });
  });
}
