// The REST-auth API's rules that a user relies on beyond the happy paths: reset links that
// expire and die with any password change (time frozen with ManualClock, never slept), one
// sign-in as one key plus one session, an address verified by someone else, the outbox when
// there is no SMTP server, Secure cookies behind https, and the per-address sign-in limit.
import { describe, it, before, after } from 'node:test';
import type { InjectOptions } from 'fastify';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engines, type Engine } from '../helpers/engines.ts';
import { countingHasher, fastHasher, startApp, type TestApp, outboxMailerForTests } from '../helpers/app.ts';
import { startSmtpSink, linkParam, type SmtpSink } from '../helpers/smtp-sink.ts';
import { outboxMailer, smtpMailer } from '../../src/mail/transports.ts';
import { createCore, ManualClock, type Mailer, type MailMessage } from '../../src/core/index.ts';
import { openStore } from '../../src/store/index.ts';
import { buildServer } from '../../src/http/server.ts';

const PW = 'a-long-passphrase-1';
const token = (k: string) => ({ authorization: `Token ${k}` });
const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });

/** Passes messages on, and counts each one handed to it (at the moment it is handed over). */
function counting(inner: Mailer) {
  const sent: MailMessage[] = [];
  const mailer: Mailer = { send: (m) => (sent.push(m), inner.send(m)) };
  return { mailer, sent };
}

for (const { engine, skip } of engines) {
  describe(`REST-auth rules [${engine.name}]`, { skip }, () => {
    let smtp: SmtpSink;
    let t: TestApp;
    let clock: ManualClock;
    let sent: MailMessage[];
    let n = 0;
    const uniq = () => `r${++n}`;
    const setting = async (key: string, value: string) => {
      const tenant = await t.core.tenants.resolve(undefined);
      await t.store.read.settings.put(tenant.pk, key, value, clock.now());
      t.core.settings.invalidate(tenant.pk);
    };
    const register = async (name: string, email = `${name}@example.com`) => {
      const r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: name, email, password1: PW, password2: PW } });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().key as string;
    };
    const login = async (payload: Record<string, string>) => t.request({ method: 'POST', url: '/api/auth/login/', payload });
    /** Asks for a reset link and returns its uid and token, read from the e-mail received. */
    const resetLink = async (email: string) => {
      const before = smtp.messages.filter((m) => m.to.includes(email)).length;
      const r = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email } });
      assert.equal(r.statusCode, 200);
      const mail = await smtp.next(email, before);
      return { uid: linkParam(mail, 'uid'), token: linkParam(mail, 'token') };
    };
    const confirm = (link: { uid: string; token: string }, password: string) =>
      t.request({ method: 'POST', url: '/api/auth/password/reset/confirm/', payload: { ...link, new_password1: password, new_password2: password } });

    before(async () => {
      smtp = await startSmtpSink();
      clock = new ManualClock(Date.parse('2026-01-05T10:00:00Z'));
      const c = counting(smtpMailer(smtp.url));
      sent = c.sent;
      t = await startApp(engine, { mailer: c.mailer, clock });
    });
    after(async () => {
      await t?.close();
      await smtp?.close();
    });

    it('a reset link expires after password_reset_timeout (1 hour by default), to the millisecond', async () => {
      const a = uniq();
      const b = uniq();
      await register(a);
      await register(b);
      const linkA = await resetLink(`${a}@example.com`);
      const linkB = await resetLink(`${b}@example.com`);
      clock.advance(3_600_000 - 1);
      assert.equal((await confirm(linkA, 'in-time-passphrase-1')).statusCode, 200, 'still valid one millisecond before the hour');
      clock.advance(1);
      const late = await confirm(linkB, 'too-late-passphrase-1');
      assert.equal(late.statusCode, 400);
      assert.deepEqual(late.json(), { token: ['Invalid value'] });
      assert.equal((await login({ username: b, password: PW })).statusCode, 200, 'the old password still works');

      assert.match(sent.find((m) => m.to === `${a}@example.com` && m.subject.endsWith('Password reset'))!.text, /works once, within 1 hour\./);
      await setting('password_reset_timeout', '600');
      try {
        const link = await resetLink(`${b}@example.com`);
        assert.match(sent.at(-1)!.text, /works once, within 10 minutes\./);
        clock.advance(600_000);
        assert.equal((await confirm(link, 'too-late-passphrase-2')).statusCode, 400, 'the tenant setting shortens it');
      } finally {
        await setting('password_reset_timeout', '3600');
      }
    });

    it('a reset link dies with any change of password, by any route, in the same millisecond', async () => {
      const name = uniq();
      const email = `${name}@example.com`;
      const key = await register(name);
      // REST-auth password change.
      let link = await resetLink(email);
      let r = await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'changed-passphrase-1', new_password2: 'changed-passphrase-1' } });
      assert.equal(r.statusCode, 200);
      assert.deepEqual((await confirm(link, 'reset-passphrase-1')).json(), { token: ['Invalid value'] });
      // v1 change-password (another dialect).
      link = await resetLink(email);
      r = await t.request({ method: 'POST', url: '/api/auth/change-password/', headers: token(key), payload: { current_password: 'changed-passphrase-1', new_password: 'changed-passphrase-2' } });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal((await confirm(link, 'reset-passphrase-2')).statusCode, 400);
      // Another reset link: using one voids the others.
      const first = await resetLink(email);
      const second = await resetLink(email);
      assert.equal((await confirm(first, 'reset-passphrase-3')).statusCode, 200);
      assert.equal((await confirm(second, 'reset-passphrase-4')).statusCode, 400);
      assert.equal((await login({ username: name, password: 'reset-passphrase-3' })).statusCode, 200);
      // A uid that names nobody, and a token of someone else.
      const other = uniq();
      await register(other);
      const theirs = await resetLink(`${other}@example.com`);
      const mine = await resetLink(email);
      assert.deepEqual((await confirm({ uid: mine.uid, token: theirs.token }, 'reset-passphrase-5')).json(), { token: ['Invalid value'] });
      assert.deepEqual((await confirm({ uid: '00000000-0000-4000-8000-000000000000', token: mine.token }, 'reset-passphrase-5')).json(), { uid: ['Invalid value'] });
      assert.equal((await confirm(theirs, 'reset-passphrase-6')).statusCode, 200, 'each link works for its own user');
    });

    it('password reset: the same answer for a known and an unknown address, and mail only to the known one', async () => {
      const name = uniq();
      await register(name);
      const before = sent.length;
      const known = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: `${name}@example.com` } });
      await t.core.outbox.idle(); // the message goes out after the answer
      assert.equal(sent.length, before + 1);
      assert.equal(sent.at(-1)!.to, `${name}@example.com`);
      const unknown = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: `nobody-${name}@example.com` } });
      await t.core.outbox.idle();
      assert.equal(sent.length, before + 1, 'no message for an unknown address');
      assert.equal(known.statusCode, 200);
      assert.equal(known.body, unknown.body);
      const headers = (r: typeof known) => Object.keys(r.headers).filter((h) => !['date', 'x-request-id'].includes(h)).sort().map((h) => [h, r.headers[h]]);
      assert.deepEqual(headers(known), headers(unknown));
      assert.ok(!sent.at(-1)!.text.includes(PW) && !sent.at(-1)!.html.includes(PW));
      await setting('password_forgotten_enabled', 'false');
      try {
        const r = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: `${name}@example.com` } });
        assert.equal(r.statusCode, 403);
        assert.ok(r.json().detail);
        await t.core.outbox.idle();
        assert.equal(sent.length, before + 1);
      } finally {
        await setting('password_forgotten_enabled', 'true');
      }
    });

    it('an address verified by one user cannot be registered by another, and signing in by e-mail finds the owner', async () => {
      const owner = uniq();
      const email = `${owner}@example.com`;
      await register(owner);
      const mail = await smtp.next(email);
      assert.equal((await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mail, 'key') } })).statusCode, 200);
      const r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: uniq(), email: email.toUpperCase(), password1: PW, password2: PW } });
      assert.equal(r.statusCode, 400);
      assert.deepEqual(r.json(), { email: ['A user is already registered with this e-mail address.'] });
      // An administrator may still give someone else the same address (unverified): the owner
      // keeps signing in by e-mail.
      await t.createUser({ username: uniq(), password: PW, email });
      const l = await login({ email, password: PW });
      assert.equal(l.statusCode, 200, l.body);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(l.json().key) })).json().username, owner);
      // Two accounts with the same unverified address: neither is picked by e-mail.
      const shared = `shared-${owner}@example.com`;
      const a = uniq();
      await register(a, shared);
      await register(uniq(), shared);
      assert.deepEqual((await login({ email: shared, password: PW })).json(), { non_field_errors: ['Unable to log in with provided credentials.'] });
      assert.equal((await login({ username: a, password: PW })).statusCode, 200);
    });

    it('an e-mail changed through another API is unverified, becomes the primary address, and takes no one\'s address', async () => {
      const name = uniq();
      const key = await register(name);
      const mail = await smtp.next(`${name}@example.com`);
      await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mail, 'key') } });
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: token(key) })).json().is_email_verified, true);
      const staff = uniq();
      await t.createUser({ username: staff, password: PW, isStaff: true });
      const admin = await t.login(staff, PW);
      const target = `target-${name}@example.com`;
      const tenant = await t.core.tenants.resolve(undefined);
      const userId = (await t.store.read.users.findByUsername(tenant.pk, name))!.id;
      let r = await t.request({ method: 'PATCH', url: `/api/users/${userId}/`, headers: admin.headers, payload: { email: target } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: token(key) })).json().is_email_verified, false, 'a new address is not verified');
      const list = (await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(key) })).json();
      assert.deepEqual(list.results.map((e: { email: string; primary: boolean; verified: boolean }) => [e.email, e.primary, e.verified]),
        [[`${name}@example.com`, false, true], [target, true, false]]);
      // The owner of that address can still register with it and verify it.
      const owner = uniq();
      await register(owner, target);
      const m = await smtp.next(target, 0);
      r = await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(m, 'key') } });
      assert.equal(r.statusCode, 200);
      // Back to the address verified before: verified again, and primary again.
      r = await t.request({ method: 'PATCH', url: `/api/users/${userId}/`, headers: admin.headers, payload: { email: `${name}@example.com` } });
      assert.equal(r.statusCode, 200);
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: token(key) })).json().is_email_verified, true);
      const again = (await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(key) })).json();
      assert.equal(again.results.find((e: { primary: boolean }) => e.primary).email, `${name}@example.com`);
    });

    it('a user moved to another tenant leaves its verified addresses behind: there they are verified anew', async () => {
      const name = uniq();
      const email = `${name}@example.com`;
      await register(name);
      await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(await smtp.next(email), 'key') } });
      if (!(await t.core.tenants.findByName('elsewhere'))) await t.core.tenants.create('elsewhere', 'Elsewhere');
      const root = uniq();
      await t.createUser({ username: root, password: PW, isSuperuser: true, isStaff: true });
      const tenant = await t.core.tenants.resolve(undefined);
      const userId = (await t.store.read.users.findByUsername(tenant.pk, name))!.id;
      const r = await t.request({ method: 'PATCH', url: `/api/users/${userId}/`, headers: (await t.login(root, PW)).headers, payload: { tenant_id: 'elsewhere' } });
      assert.equal(r.statusCode, 200, r.body);
      // In the old tenant the address is free again.
      await register(uniq(), email);
      // In the new one, the moved user's address waits for a new verification.
      const l = await t.request({ method: 'POST', url: '/api/auth/login/', headers: { 'x-tenant': 'elsewhere' }, payload: { username: name, password: PW } });
      assert.equal(l.statusCode, 200, l.body);
      const headers = { ...token(l.json().key), 'x-tenant': 'elsewhere' };
      const list = (await t.request({ method: 'GET', url: '/api/auth/emails/', headers })).json();
      assert.deepEqual(list.results.map((e: { email: string; primary: boolean; verified: boolean }) => [e.email, e.primary, e.verified]), [[email, true, false]]);
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers })).json().is_email_verified, false);
      assert.equal((await t.request({ method: 'POST', url: `/api/auth/emails/${list.results[0].id}/verify/`, headers })).statusCode, 200);
    });

    it('one sign-in is one token key and one session: logging out with either ends both', async () => {
      const name = uniq();
      await register(name);
      const open = async () => {
        const l = await login({ username: name, password: PW });
        const sid = l.cookies.find((c) => c.name === 'sessionid')!.value;
        return { key: l.json().key as string, cookie: { cookie: `sessionid=${sid}` } };
      };
      const user = (headers: Record<string, string>) => t.request({ method: 'GET', url: '/api/auth/user/', headers }).then((r) => r.statusCode);
      const a = await open();
      const b = await open();
      assert.equal((await t.request({ method: 'POST', url: '/api/auth/logout/', headers: token(a.key) })).statusCode, 200);
      assert.equal(await user(token(a.key)), 401);
      assert.equal(await user(a.cookie), 401, 'the session of that sign-in ended too');
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/logout/', headers: b.cookie })).statusCode, 200);
      assert.equal(await user(b.cookie), 401);
      assert.equal(await user(token(b.key)), 401, 'the key of that sign-in is deleted too');
      assert.equal((await login({ username: name, password: PW })).statusCode, 200, 'signing in again works');
    });

    it('Token and Basic authenticate every endpoint that needs a user, here and in the other APIs', async () => {
      const name = uniq();
      const key = await register(name);
      for (const headers of [token(key), basic(name, PW)]) {
        for (const [method, url] of [['GET', '/api/auth/user/'], ['GET', '/api/auth/emails/'], ['GET', '/api/auth/social/'], ['GET', '/api/sign-ins/'], ['GET', '/user_info/']] as const) {
          const r = await t.request({ method, url, headers });
          assert.equal(r.statusCode, 200, `${headers.authorization.split(' ')[0]} ${method} ${url}: ${r.body}`);
        }
        const r = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers, payload: { last_name: 'Basic-or-Token' } });
        assert.equal(r.statusCode, 200, 'no CSRF token is needed without a cookie');
      }
      for (const headers of [token(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')), basic(name, 'wrong-password-1'), basic(`nobody-${name}`, PW), { authorization: 'Token' }, { authorization: 'Basic Zm9v' }]) {
        const r = await t.request({ method: 'GET', url: '/api/auth/user/', headers });
        assert.equal(r.statusCode, 401, headers.authorization);
        assert.deepEqual(Object.keys(r.json()), ['detail']);
      }
      // An Authorization header decides alone: a bad one with a good session cookie is refused.
      const l = await login({ username: name, password: PW });
      const sid = l.cookies.find((c) => c.name === 'sessionid')!.value;
      const r = await t.request({ method: 'GET', url: '/api/auth/user/', headers: { ...token('x'.repeat(64)), cookie: `sessionid=${sid}` } });
      assert.equal(r.statusCode, 401);
    });

    it('resend-email sends a new working link for an unverified address, and answers an unknown one alike', async () => {
      await setting('email_verification_mandatory', 'true');
      try {
        const name = uniq();
        const email = `${name}@example.com`;
        const reg = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: name, email, password1: PW, password2: PW } });
        assert.deepEqual(reg.json(), { detail: 'Verification e-mail sent.' });
        assert.equal(reg.cookies.length, 0, 'no session either');
        await smtp.next(email);
        const before = sent.length;
        const a = await t.request({ method: 'POST', url: '/api/auth/registration/resend-email/', payload: { email } });
        const b = await t.request({ method: 'POST', url: '/api/auth/registration/resend-email/', payload: { email: `nobody-${email}` } });
        assert.equal(a.statusCode, 201);
        assert.equal(a.body, b.body);
        await t.core.outbox.idle();
        assert.equal(sent.length, before + 1);
        const mail = await smtp.next(email, 1);
        assert.equal((await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mail, 'key') } })).statusCode, 200);
        assert.equal((await login({ email, password: PW })).statusCode, 200);
        await t.request({ method: 'POST', url: '/api/auth/registration/resend-email/', payload: { email } });
        await t.core.outbox.idle();
        assert.equal(sent.length, before + 1, 'a verified address gets no more messages');
      } finally {
        await setting('email_verification_mandatory', 'false');
      }
    });

    it('e-mail addresses: two users may both hold an unverified address; the first to verify owns it', async () => {
      const a = await register(uniq());
      const b = await register(uniq());
      const email = `contested-${n}@example.com`;
      const add = (key: string) => t.request({ method: 'POST', url: '/api/auth/emails/', headers: token(key), payload: { email } });
      const ra = await add(a);
      const rb = await add(b);
      assert.equal(ra.statusCode, 201);
      assert.equal(rb.statusCode, 201);
      const mailA = await smtp.next(email, 0);
      const mailB = await smtp.next(email, 1);
      assert.equal((await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mailB, 'key') } })).statusCode, 200);
      const late = await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mailA, 'key') } });
      assert.equal(late.statusCode, 400);
      assert.deepEqual(late.json(), { key: ['A user is already registered with this e-mail address.'] });
      const list = (await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(a) })).json();
      assert.equal(list.results.find((e: { email: string }) => e.email === email).verified, false);
      // Fields the server sets are refused, not silently taken.
      const r = await t.request({ method: 'POST', url: '/api/auth/emails/', headers: token(a), payload: { email: `x-${email}`, verified: true } });
      assert.equal(r.statusCode, 400);
      assert.ok(r.json().verified);
    });
  });

  describe(`REST-auth sign-in reveals no account [${engine.name}]`, { skip }, () => {
    it('login by username or e-mail, and Basic: one password verification and the same answer, whoever is asked about', async () => {
      const { hasher, counts } = countingHasher();
      const t = await startApp(engine, { hasher });
      try {
        await t.createUser({ username: 'alma', password: PW, email: 'alma@example.com' });
        await t.createUser({ username: 'idle', password: PW, email: 'idle@example.com', isActive: false });
        await t.createUser({ username: 'nopw', email: 'nopw@example.com' });
        // Thirteen failures from one address, more than its rate (10 a minute) lets through.
        const tenantPk = (await t.core.tenants.resolve(undefined)).pk;
        await t.store.read.settings.put(tenantPk, 'login_ip_limit', '1000', Date.now());
        t.core.settings.invalidate(tenantPk);
        const strip = (r: { statusCode: number; body: string; headers: Record<string, unknown> }) =>
          [r.statusCode, r.body, Object.keys(r.headers).filter((h) => !['date', 'x-request-id'].includes(h)).sort().map((h) => [h, r.headers[h]])];
        const attempts: Array<Record<string, string>> = [
          { username: 'alma', password: 'wrong-password-1' }, { username: 'nobody', password: 'wrong-password-1' },
          { username: 'idle', password: PW }, { username: 'nopw', password: PW },
          { email: 'alma@example.com', password: 'wrong-password-1' }, { email: 'nobody@example.com', password: 'wrong-password-1' },
          { email: 'idle@example.com', password: PW }, { email: 'nopw@example.com', password: PW },
        ];
        const answers = [];
        for (const payload of attempts) {
          const before = counts.verify;
          const r = await t.request({ method: 'POST', url: '/api/auth/login/', payload });
          assert.equal(counts.verify - before, 1, JSON.stringify(payload));
          answers.push(strip(r));
        }
        for (const a of answers) assert.deepEqual(a, answers[0]);
        const basicAnswers = [];
        for (const [u, p] of [['alma', 'wrong-password-1'], ['nobody', 'wrong-password-1'], ['idle', PW], ['nopw', PW]] as const) {
          const before = counts.verify;
          const r = await t.request({ method: 'GET', url: '/api/auth/user/', headers: basic(u, p) });
          assert.equal(counts.verify - before, 1, u);
          basicAnswers.push(strip(r));
        }
        for (const a of basicAnswers) assert.deepEqual(a, basicAnswers[0]);
        const before = counts.verify;
        assert.equal((await t.request({ method: 'POST', url: '/api/auth/login/', payload: { email: 'alma@example.com', password: PW } })).statusCode, 200);
        assert.equal(counts.verify - before, 1, 'the right password: one verification too');
      } finally {
        await t.close();
      }
    });
  });

  describe(`REST-auth e-mail delivery [${engine.name}]`, { skip }, () => {
    it('without SMTP_URL the messages go to the outbox as .eml (text and HTML parts) and .txt, and their links work', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-outbox-test-'));
      const logged: Array<Record<string, unknown>> = [];
      const t = await startApp(engine, { mailer: outboxMailer(dir, { log: (_m, meta) => logged.push(meta) }) });
      try {
        const r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: 'olga', email: 'olga@example.com', password1: PW, password2: PW } });
        assert.equal(r.statusCode, 201);
        const files = fs.readdirSync(dir).sort();
        assert.deepEqual(files.map((f) => path.extname(f)), ['.eml', '.txt']);
        const eml = fs.readFileSync(path.join(dir, files[0]!), 'utf8');
        assert.match(eml, /^To: olga@example\.com$/m);
        assert.match(eml, /^Subject: \[Default\] Please confirm your e-mail address$/m);
        assert.match(eml, /Content-Type: text\/plain/);
        assert.match(eml, /Content-Type: text\/html/);
        const txt = fs.readFileSync(path.join(dir, files[1]!), 'utf8');
        const key = decodeURIComponent(txt.match(/http:\/\/latchkey\.test\/account\/verify-email\/\?key=(\S+)/)![1]!);
        assert.equal((await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key } })).statusCode, 200);
        assert.equal(logged.length, 1);
        assert.equal(logged[0]!.file, path.join(dir, files[0]!));
        assert.ok(!JSON.stringify(logged).includes(key), 'the log names the file, not the link');
      } finally {
        await t.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a failing SMTP server: adding an address is a 503 and keeps nothing; a reset still answers 200', async () => {
      const sink = await startSmtpSink();
      let up = true;
      const real = smtpMailer(sink.url);
      const dead = smtpMailer('smtp://127.0.0.1:1');
      const failures: unknown[] = [];
      const t = await startAppWith(engine, { mailer: { send: (m) => (up ? real : dead).send(m) }, onBackgroundError: (e) => failures.push(e) });
      try {
        const r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: 'pat', email: 'pat@example.com', password1: PW, password2: PW } });
        const key = r.json().key;
        up = false;
        let a = await t.request({ method: 'POST', url: '/api/auth/emails/', headers: token(key), payload: { email: 'pat2@example.com' } });
        assert.equal(a.statusCode, 503);
        assert.deepEqual(Object.keys(a.json()), ['detail']);
        const list = (await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(key) })).json();
        assert.deepEqual(list.results.map((e: { email: string }) => e.email), ['pat@example.com']);
        a = await t.request({ method: 'POST', url: `/api/auth/emails/${list.results[0].id}/verify/`, headers: token(key) });
        assert.equal(a.statusCode, 503);
        const reset = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: 'pat@example.com' } });
        assert.equal(reset.statusCode, 200, 'the answer must not tell whether a message was due');
        await t.core.outbox.idle();
        assert.equal(failures.length, 1, 'the failed reset message is reported');
        up = true;
        a = await t.request({ method: 'POST', url: '/api/auth/emails/', headers: token(key), payload: { email: 'pat2@example.com' } });
        assert.equal(a.statusCode, 201, 'once mail works again the same address can be added');
      } finally {
        await t.close();
        await sink.close();
      }
    });

    it('with an https PUBLIC_URL the cookies are Secure, and links are built on it', async () => {
      const sink = await startSmtpSink();
      const t = await startAppWith(engine, { mailer: smtpMailer(sink.url), publicUrl: 'https://auth.example.org' });
      try {
        const r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: 'sam', email: 'sam@example.com', password1: PW, password2: PW } });
        assert.equal(r.statusCode, 201);
        const l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: 'sam', password: PW } });
        const cookies = Object.fromEntries(l.cookies.map((c) => [c.name, c]));
        assert.equal(cookies.sessionid?.secure, true);
        assert.equal(cookies.csrftoken?.secure, true);
        assert.equal(cookies.sessionid?.httpOnly, true);
        const mail = await sink.next('sam@example.com');
        assert.match(mail.text, /https:\/\/auth\.example\.org\/account\/verify-email\/\?key=/);
      } finally {
        await t.close();
        await sink.close();
      }
    });

    it('failed sign-ins from one address get 429 with Retry-After, while other addresses go on', async () => {
      const t = await startApp(engine);
      try {
        const tenant = await t.core.tenants.resolve(undefined);
        await t.store.read.settings.put(tenant.pk, 'login_ip_limit', '10', Date.now());
        await t.createUser({ username: 'ivy', password: PW });
        const from = (ip: string, username: string, password: string) =>
          t.request({ method: 'POST', url: '/api/auth/login/', remoteAddress: ip, payload: { username, password } });
        // Ten different names (each under its own limit), one address.
        for (let i = 0; i < 10; i++) assert.equal((await from('192.0.2.7', `guess-${i}`, 'wrong-password-1')).statusCode, 400);
        const r = await from('192.0.2.7', 'ivy', PW);
        assert.equal(r.statusCode, 429);
        assert.ok(Number(r.headers['retry-after']) > 0);
        assert.deepEqual(Object.keys(r.json()), ['detail']);
        assert.equal((await from('198.51.100.9', 'ivy', PW)).statusCode, 200);
      } finally {
        await t.close();
      }
    });
  });
}

/** The whole server over a fresh database, with core options the shared helper does not take. */
async function startAppWith(engine: Engine, opts: { mailer: Mailer; publicUrl?: string; onBackgroundError?: (err: unknown) => void }) {
  const db = await engine.create();
  const store = openStore(db.url);
  const publicUrl = opts.publicUrl ?? 'http://latchkey.test';
  const core = createCore({ store, publicUrl, hasher: fastHasher(), mailer: opts.mailer ?? outboxMailerForTests(), onBackgroundError: opts.onBackgroundError });
  await core.prepare();
  const app = await buildServer({ core, publicUrl });
  return {
    core,
    request: (o: InjectOptions) => app.inject(o),
    async close() {
      await app.close();
      await store.close();
      await db.drop();
    },
  };
}
