// JWT pairs through the core, without HTTP: refresh rotation with reuse detection, logout,
// revocation when a user is disabled, deleted or changes its password, lifetimes (access and
// refresh, from the tenant's settings, on a clock the test moves), and signing-key rotation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { engines } from '../helpers/engines.ts';
import { sha256 } from '../../src/core/secrets.ts';
import type { Principal } from '../../src/core/index.ts';
import { startCore, rejectsWith, decodeJwt, obtainPair, PASSWORD, PUBLIC_URL, type CoreFixture } from './support.ts';

const SECOND = 1000;

for (const { engine, skip } of engines) {
  describe(`core tokens [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    let admin: Principal;
    let adminAccess: string;
    const works = async (access: string) => (await f.core.credentials.accessToken(access)).user.id;
    const fails = (access: string, why: string) => rejectsWith(f.core.credentials.accessToken(access), 'TOKEN_INVALID', why);
    const refreshFails = (refresh: string, why: string) => rejectsWith(f.core.tokenPairs.refresh(refresh), 'TOKEN_INVALID', why);

    before(async () => {
      f = await startCore(engine);
      await f.user('root', { isStaff: true, isSuperuser: true });
      ({ principal: admin, access: adminAccess } = await f.login('root'));
    });
    after(async () => { await f?.close(); });

    it('issues an access token with the documented claims and a kid from the JWKS', async () => {
      const u = await f.user('claims');
      const g = await f.core.groups.create(admin, 'readers');
      await f.core.groups.addMember(admin, g.id, { id: u.id });
      const { access } = await f.login('claims');
      const { header, payload } = decodeJwt(access);
      assert.equal(header.alg, 'ES256');
      assert.equal(header.typ, 'at+jwt');
      assert.equal(payload.iss, PUBLIC_URL);
      assert.equal(payload.sub, u.id);
      assert.equal(payload.tenant, 'default');
      assert.equal(payload.token_type, 'access');
      assert.deepEqual(payload.groups, ['readers']);
      assert.equal(typeof payload.jti, 'string');
      assert.equal(payload.iat, Math.floor(f.clock.now() / 1000));
      assert.equal(payload.exp - payload.iat, 300, 'access tokens live 5 minutes by default');
      const jwks = await f.core.keys.jwks();
      const { payload: verified } = await jwtVerify(access, createLocalJWKSet(jwks), { issuer: PUBLIC_URL, currentDate: new Date(f.clock.now()) });
      assert.equal(verified.sub, u.id);
    });

    it('rotates refresh tokens: the old one stops working, the new one works, old access tokens stay valid', async () => {
      await f.user('rotor');
      const first = await f.login('rotor');
      const second = await f.core.tokenPairs.refresh(first.refresh);
      assert.notEqual(second.refresh, first.refresh);
      assert.notEqual(second.access, first.access);
      const third = await f.core.tokenPairs.refresh(second.refresh);
      assert.ok(third.access);
      await works(first.access);
      await works(third.access);
    });

    it('reusing a rotated refresh token revokes its whole family, and only that family', async () => {
      await f.user('victim');
      const other = await f.login('victim'); // another device: another family
      const a = await f.login('victim');
      const b = await f.core.tokenPairs.refresh(a.refresh);
      const c = await f.core.tokenPairs.refresh(b.refresh);
      await refreshFails(a.refresh, 'a rotated refresh token presented again');
      await refreshFails(c.refresh, 'the newest refresh of the family, after reuse');
      await fails(c.access, 'the newest access token of the family, after reuse');
      await fails(a.access, 'an older access token of the family');
      const family = await f.store.read.tokens.findFamily(familyOf(a.access));
      assert.equal(family?.revoked_reason, 'refresh_token_reused');
      // The other device is untouched.
      await works(other.access);
      await f.core.tokenPairs.refresh(other.refresh);
    });

    it('stores refresh tokens only as hashes', async () => {
      await f.user('hashed');
      const { refresh } = await f.login('hashed');
      const rows = await f.store.db.selectFrom('refresh_tokens').select('token_hash').execute();
      assert.ok(rows.length > 0);
      assert.ok(rows.every((r) => r.token_hash !== refresh && r.token_hash.length === 64));
    });

    it('a refresh token names its family: "<family id>.<secret>", the family being the access token\'s fam', async () => {
      await f.user('format');
      const { access, refresh } = await f.login('format');
      const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(refresh);
      assert.ok(m, refresh);
      assert.equal(m[1], decodeJwt(access).payload.fam);
      const next = await f.core.tokenPairs.refresh(refresh);
      assert.equal(next.refresh.split('.')[0], m[1], 'a rotation stays in the family');
      assert.notEqual(next.refresh.split('.')[1], m[2]);
    });

    it('a wrong secret under a real family, or a real secret under another family, is refused and revokes nothing', async () => {
      await f.user('prober');
      const victim = await f.login('prober');
      const other = await f.login('prober');
      const [family, secret] = victim.refresh.split('.') as [string, string];
      const otherFamily = other.refresh.split('.')[0]!;
      const flipped = (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1);
      for (const bad of [`${family}.${flipped}`, `${family}.${secret.slice(0, -1)}`, `${family}.`, `${otherFamily}.${secret}`, `${family.toUpperCase()}.${secret}`, `${crypto.randomUUID()}.${secret}`]) {
        await refreshFails(bad, bad.slice(0, 12));
      }
      // Whoever knows a family's id (it is in every access token) cannot end that sign-in with made-up tokens.
      await works(victim.access);
      await works(other.access);
      await f.core.tokenPairs.refresh(victim.refresh);
    });

    it('a token issued before tokens named their family still works once, and continues its family in the new form; reusing it revokes the family', async () => {
      const u = await f.user('upgraded');
      const row = (await f.store.read.users.findById(u.id))!;
      // What a sign-in before migration 0007 left: the family and an opaque token's hash in refresh_tokens_v1.
      const family = crypto.randomUUID();
      const old = crypto.randomBytes(32).toString('base64url');
      const now = f.clock.now();
      await f.store.transaction(async (r) => {
        await r.tokens.createFamily({ id: family, tenant_pk: row.tenantPk, user_pk: row.pk, created_at: now, client_pk: null, scope: '' });
      });
      await f.store.db.insertInto('refresh_tokens_v1').values({ token_hash: sha256(old), family_id: family, created_at: now, expires_at: now + 3_600_000, used_at: null }).execute();
      const sessions = (await f.core.signIns.list((await f.login('upgraded')).principal)).map((s) => s.id);
      assert.ok(sessions.includes(`jwt:${family}`), 'the old sign-in is listed while its token lives');

      const next = await f.core.tokenPairs.refresh(old);
      assert.equal(next.refresh.split('.')[0], family);
      const again = await f.core.tokenPairs.refresh(next.refresh);
      await refreshFails(old, 'the old-form token is used');
      await refreshFails(again.refresh, 'its reuse revoked the whole family');
      await fails(again.access, 'its reuse revoked the access tokens too');
    });

    it('refuses garbage refresh tokens', async () => {
      for (const bad of ['', 'garbage', 'x'.repeat(600), 'a.b.c']) await refreshFails(bad, `refresh ${JSON.stringify(bad.slice(0, 10))}`);
    });

    it('logout revokes the caller\'s family and its access token; other sign-ins stay', async () => {
      await f.user('leaver');
      const phone = await f.login('leaver');
      const laptop = await f.login('leaver');
      await f.core.signOut.signOut(laptop.principal);
      await fails(laptop.access, 'access token after logout');
      await refreshFails(laptop.refresh, 'refresh token after logout');
      await works(phone.access);
      // Logging out with a refresh token in hand ends that family too.
      const tablet = await f.login('leaver');
      await f.core.signOut.signOut(phone.principal, tablet.refresh);
      await fails(phone.access, 'phone after logout');
      await fails(tablet.access, 'tablet whose refresh was given at logout');
      await refreshFails(tablet.refresh, 'tablet refresh');
    });

    it('logout cannot revoke another user\'s family by naming its refresh token', async () => {
      await f.user('mallory');
      await f.user('bystander');
      const m = await f.login('mallory');
      const b = await f.login('bystander');
      await f.core.signOut.signOut(m.principal, b.refresh);
      await works(b.access);
      await f.core.tokenPairs.refresh(b.refresh);
    });

    it('disabling a user makes its tokens fail, and enabling it again does not revive them', async () => {
      const u = await f.user('disabled');
      const s = await f.login('disabled');
      await f.core.users.update(admin, u.id, { isActive: false });
      await fails(s.access, 'access of a disabled user');
      await refreshFails(s.refresh, 'refresh of a disabled user');
      await rejectsWith(obtainPair(f.core, undefined, 'disabled', PASSWORD), 'INVALID_CREDENTIALS');
      await f.core.users.update(admin, u.id, { isActive: true });
      await fails(s.access, 'access after re-enabling');
      await refreshFails(s.refresh, 'refresh after re-enabling');
      await works((await f.login('disabled')).access);
    });

    it('deleting a user makes its tokens fail', async () => {
      const u = await f.user('deleted');
      const s = await f.login('deleted');
      await f.core.users.delete(admin, u.id);
      await fails(s.access, 'access of a deleted user');
      await refreshFails(s.refresh, 'refresh of a deleted user');
    });

    it('changing one\'s password keeps the caller\'s own family and revokes the others', async () => {
      const u = await f.user('changer');
      const other = await f.login('changer');
      const mine = await f.login('changer');
      const session = await f.core.sessions.create(u);
      await f.core.passwordChange.change(mine.principal, { current: PASSWORD, next: 'a-brand-new-secret' });
      await works(mine.access);
      const next = await f.core.tokenPairs.refresh(mine.refresh);
      await works(next.access);
      await fails(other.access, 'another device after a password change');
      await refreshFails(other.refresh, 'another device\'s refresh after a password change');
      assert.equal(await f.core.credentials.session(session.cookie), null, 'sessions end too');
      await rejectsWith(obtainPair(f.core, undefined, 'changer', PASSWORD), 'INVALID_CREDENTIALS');
      await obtainPair(f.core, undefined, 'changer', 'a-brand-new-secret');
    });

    it('an administrator setting a user\'s password revokes all of that user\'s tokens', async () => {
      const u = await f.user('reset-me');
      const s = await f.login('reset-me');
      await f.core.users.update(admin, u.id, { password: 'set-by-the-admin' });
      await fails(s.access, 'access after an administrator set the password');
      await refreshFails(s.refresh, 'refresh after an administrator set the password');
      await works(adminAccess); // the administrator's own sign-in is not touched
    });

    it('an access token expires after its lifetime (300 s by default)', async () => {
      await f.user('expiring');
      const s = await f.login('expiring');
      f.clock.advance(299 * SECOND);
      await works(s.access);
      f.clock.advance(1 * SECOND);
      await fails(s.access, 'access token at its exp');
      // The refresh token still works and gives a fresh access token.
      const next = await f.core.tokenPairs.refresh(s.refresh);
      await works(next.access);
    });

    it('a refresh token expires after refresh_token_lifetime (1 day by default, then as set)', async () => {
      await f.user('longlived');
      const a = await f.login('longlived');
      const b = await f.login('longlived');
      f.clock.advance(86_399 * SECOND);
      await f.core.tokenPairs.refresh(a.refresh);
      f.clock.advance(1 * SECOND);
      await refreshFails(b.refresh, 'a refresh token one day old');

      const tenant = await f.core.tenants.resolve(undefined);
      await f.core.settings.set(admin, tenant.pk, 'refresh_token_lifetime', '120');
      try {
        const c = await f.login('longlived');
        f.clock.advance(119 * SECOND);
        const d = await f.core.tokenPairs.refresh(c.refresh); // a rotation gives a fresh 120 s
        f.clock.advance(119 * SECOND);
        const e = await f.core.tokenPairs.refresh(d.refresh);
        f.clock.advance(120 * SECOND);
        await refreshFails(e.refresh, 'a refresh token past a lifetime of 120 s');
      } finally {
        await f.core.settings.set(admin, tenant.pk, 'refresh_token_lifetime', '86400');
      }
    });

    it('access_token_lifetime from the settings takes effect on the next token', async () => {
      await f.user('short');
      const tenant = await f.core.tenants.resolve(undefined);
      await f.core.settings.set(admin, tenant.pk, 'access_token_lifetime', '60');
      try {
        const s = await f.login('short');
        const { payload } = decodeJwt(s.access);
        assert.equal(payload.exp - payload.iat, 60);
        f.clock.advance(60 * SECOND);
        await fails(s.access, 'access token past 60 s');
      } finally {
        await f.core.settings.set(admin, tenant.pk, 'access_token_lifetime', '300');
      }
    });

    it('key rotation: old tokens still verify, new ones carry the new kid, the JWKS lists current, next and retired', async () => {
      await f.user('keys');
      const before = await f.core.keys.jwks();
      assert.equal(before.keys.length, 2, 'current and next are published');
      const [current, next] = before.keys.map((k) => k.kid!);
      const old = await f.login('keys');
      assert.equal(decodeJwt(old.access).header.kid, current);

      const rotated = await f.core.keys.rotate();
      assert.equal(rotated.current, next, 'the pre-published next key becomes current');
      const after = await f.core.keys.jwks();
      assert.deepEqual(after.keys.map((k) => k.kid), [next, rotated.next, current], 'current, next, retired');
      for (const k of after.keys) assert.equal(k.d, undefined, 'no private part is published');

      await works(old.access);
      const fresh = await f.login('keys');
      assert.equal(decodeJwt(fresh.access).header.kid, next);
      await works(fresh.access);
      // A refresh after rotation is signed with the new key too.
      assert.equal(decodeJwt((await f.core.tokenPairs.refresh(old.refresh)).access).header.kid, next);
      // Both verify against the published set, as a resource server would check them.
      const set = createLocalJWKSet(after);
      for (const t of [old.access, fresh.access]) await jwtVerify(t, set, { issuer: PUBLIC_URL, currentDate: new Date(f.clock.now()) });
    });
  });

  describe(`core sessions and CSRF [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    let admin: Principal;
    before(async () => {
      f = await startCore(engine);
      await f.user('root', { isStaff: true, isSuperuser: true });
      admin = (await f.login('root')).principal;
    });
    after(async () => { await f?.close(); });

    it('a new session\'s cookie authenticates as its user, by the session method', async () => {
      const u = await f.user('sess');
      const s = await f.core.sessions.create(u);
      assert.match(s.cookie, /^[\w-]+\.[\w-]+$/);
      const found = await f.core.credentials.session(s.cookie);
      assert.ok(found);
      assert.equal(found.principal.user.id, u.id);
      assert.equal(found.principal.method, 'session');
      assert.equal(found.principal.sessionId, s.id);
      // Only hashes are stored.
      const row = (await f.store.read.sessions.find(s.id))!;
      const secret = s.cookie.slice(s.cookie.indexOf('.') + 1);
      assert.ok(!JSON.stringify(row).includes(secret));
      assert.ok(!JSON.stringify(row).includes(s.csrfToken));
    });

    it('checks the CSRF token of the session', async () => {
      const u = await f.user('csrf');
      const s = await f.core.sessions.create(u);
      const other = await f.core.sessions.create(u);
      const found = (await f.core.credentials.session(s.cookie))!;
      assert.equal(found.csrfOk(s.csrfToken), true);
      assert.equal(found.csrfOk(undefined), false);
      assert.equal(found.csrfOk(''), false);
      assert.equal(found.csrfOk(s.csrfToken + 'x'), false);
      assert.equal(found.csrfOk(other.csrfToken), false, 'another session\'s token');
      assert.equal(found.csrfOk('x'.repeat(10_000)), false);
    });

    it('refuses a wrong secret, an unknown id, malformed cookies and an ended session (null, not an error)', async () => {
      const u = await f.user('wrong');
      const s = await f.core.sessions.create(u);
      const [id, secret] = s.cookie.split('.');
      for (const bad of [`${id}.${secret}x`, `${id}.`, `${id}`, `unknown.${secret}`, '', '.', `.${secret}`, `${id}.${secret}\0`, 'x'.repeat(300)]) {
        assert.equal(await f.core.credentials.session(bad), null, JSON.stringify(bad.slice(0, 40)));
      }
      await f.core.sessions.end(s.id);
      assert.equal(await f.core.credentials.session(s.cookie), null);
    });

    it('a session expires after session_lifetime (two weeks by default)', async () => {
      const u = await f.user('expire');
      const s = await f.core.sessions.create(u);
      f.clock.advance(1_209_599 * SECOND);
      assert.ok(await f.core.credentials.session(s.cookie));
      f.clock.advance(1 * SECOND);
      assert.equal(await f.core.credentials.session(s.cookie), null);
    });

    it('a disabled or deleted user\'s session no longer authenticates; logout ends a session', async () => {
      const u = await f.user('ended');
      const s = await f.core.sessions.create(u);
      await f.core.users.update(admin, u.id, { isActive: false });
      assert.equal(await f.core.credentials.session(s.cookie), null);
      await f.core.users.update(admin, u.id, { isActive: true });
      assert.equal(await f.core.credentials.session(s.cookie), null, 'disabling ended the session for good');

      const s2 = await f.core.sessions.create(u);
      const found = (await f.core.credentials.session(s2.cookie))!;
      await f.core.signOut.signOut(found.principal);
      assert.equal(await f.core.credentials.session(s2.cookie), null);

      const s3 = await f.core.sessions.create(u);
      await f.core.users.delete(admin, u.id);
      assert.equal(await f.core.credentials.session(s3.cookie), null);
    });
  });
}

/** The refresh family an access token belongs to (its `fam` claim). */
function familyOf(access: string): string {
  return JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()).fam;
}
