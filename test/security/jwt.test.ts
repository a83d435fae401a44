// Threat: an attacker forges or replays an access token to act as someone. Classic JWT attacks
// are tried against every dialect's authenticated endpoint over real HTTP: `alg: none`, HS256
// signed with the server's own public key (algorithm confusion), unknown or hostile `kid`s,
// attacker keys offered through `jku`/`x5u`/`jwk` headers, tampered payloads, tokens out of
// their lifetime, with the wrong issuer or the wrong type, tokens of users that were deleted,
// disabled or live in another tenant, and tokens issued before a password change. Each must be
// refused with the dialect's exact 401 body; a genuine token (the control) is accepted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { SignJWT, importJWK, exportJWK, generateKeyPair, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { engines } from '../helpers/engines.ts';
import { ManualClock, type User } from '../../src/core/index.ts';
import { PUBLIC_URL } from '../helpers/app.ts';
import {
  PASSWORD, REVOKED, TOKEN_NOT_VALID, USER_GONE, probes, startLive, v1Login, v2Login, type Live,
} from './support.ts';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const unsigned = (header: object, payload: object, signature = '') => `${b64(header)}.${b64(payload)}.${signature}`;
const hs256 = (header: object, payload: object, secret: crypto.BinaryLike) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
};

for (const { engine, skip } of engines) {
  describe(`JWT attacks [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock();
    let live: Live;
    let alice: User, bob: User, staff: User, eve: User;
    let superuser: User;

    before(async () => {
      live = await startLive(engine, { clock });
      alice = await live.t.createUser({ username: 'alice', password: PASSWORD });
      bob = await live.t.createUser({ username: 'bob', password: PASSWORD });
      staff = await live.t.createUser({ username: 'staff', password: PASSWORD, isStaff: true });
      superuser = await live.t.createUser({ username: 'root', password: PASSWORD, isStaff: true, isSuperuser: true });
      await live.t.core.tenants.create('acme', 'Acme');
      eve = await live.t.createUser({ username: 'eve', password: PASSWORD, tenant: 'acme', isStaff: true });
    });
    after(async () => { await live?.close(); });

    /** Every dialect answers `token` for `user` with 401 and its exact body for `message`. */
    async function refusedEverywhere(token: string, user: User, message = TOKEN_NOT_VALID, headers: Record<string, string> = {}) {
      for (const p of probes) {
        const r = await live.call('GET', p.path(user), { bearer: token, headers });
        assert.equal(r.status, 401, `${p.dialect}: ${r.text}`);
        assert.deepEqual(r.body, p.invalid(message), p.dialect);
      }
    }
    async function acceptedEverywhere(token: string, user: User) {
      for (const p of probes) {
        const r = await live.call('GET', p.path(user), { bearer: token });
        assert.equal(r.status, 200, `${p.dialect}: ${r.text}`);
        assert.equal(r.body.username, user.username, p.dialect);
      }
    }
    /** Signs arbitrary claims with the server's own current key: the claim checks alone decide. */
    async function forge(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
      const { kid, alg } = await live.t.core.keys.signingKey();
      const row = (await live.t.store.read.signingKeys.all()).find((k) => k.kid === kid)!;
      const key = await importJWK(JSON.parse(row.private_jwk) as JWK, alg);
      return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'at+jwt', ...header } as any).sign(key);
    }
    const parts = (token: string) => ({ header: decodeProtectedHeader(token) as Record<string, unknown>, payload: decodeJwt(token) as Record<string, unknown> });

    it('control: a genuine token, and the same claims re-signed with the server key, are accepted by every dialect', async () => {
      const { access } = await v1Login(live, 'alice');
      await acceptedEverywhere(access, alice);
      await acceptedEverywhere(await forge(parts(access).payload), alice);
      await acceptedEverywhere((await v2Login(live, 'alice')).access, alice);
    });

    it('alg "none" (any spelling, with or without a signature) is refused', async () => {
      const { access } = await v1Login(live, 'alice');
      const { header, payload } = parts(access);
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        await refusedEverywhere(unsigned({ ...header, alg }, payload), alice);
        await refusedEverywhere(unsigned({ ...header, alg }, payload, access.split('.')[2]), alice);
        await refusedEverywhere(unsigned({ alg, typ: 'at+jwt' }, payload), alice);
      }
    });

    it('HS256 signed with the server\'s public key (algorithm confusion) is refused', async () => {
      const { access } = await v1Login(live, 'alice');
      const { header, payload } = parts(access);
      const jwks = await live.call('GET', '/.well-known/jwks.json');
      assert.equal(jwks.status, 200);
      const jwk = (jwks.body.keys as JWK[]).find((k) => k.kid === header.kid)!;
      assert.ok(jwk, 'the signing key is published');
      const keyObject = crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
      const secrets: crypto.BinaryLike[] = [
        JSON.stringify(jwk), // the JWK exactly as published
        keyObject.export({ format: 'pem', type: 'spki' }) as string, // PEM, the textbook attack
        keyObject.export({ format: 'der', type: 'spki' }) as Buffer,
        Buffer.from(jwk.x!, 'base64url'),
      ];
      for (const secret of secrets) {
        for (const alg of ['HS256', 'HS384', 'HS512']) {
          await refusedEverywhere(hs256({ ...header, alg }, payload, secret), alice);
        }
      }
    });

    it('a kid not in the key set, missing, or carrying path or SQL characters is refused', async () => {
      const { access } = await v1Login(live, 'alice');
      const { header, payload } = parts(access);
      const own = await generateKeyPair('ES256');
      const sign = (h: Record<string, unknown>) => new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...h } as any).sign(own.privateKey);
      for (const kid of [crypto.randomUUID(), '../../etc/passwd', '/dev/null', "' OR 1=1 --", '"; DROP TABLE signing_keys; --', '', 'x'.repeat(5000)]) {
        await refusedEverywhere(await sign({ kid }), alice);
      }
      await refusedEverywhere(await sign({}), alice); // no kid at all
      await refusedEverywhere(await sign({ kid: header.kid }), alice); // the right kid, the wrong key
      // The server key under a hostile kid: the kid names no key, so nothing verifies it.
      await refusedEverywhere(await forge(payload, { kid: "' OR 1=1 --" }), alice);
      await refusedEverywhere(await forge(payload, { kid: '../../etc/passwd' }), alice);
      // The key set is intact afterwards.
      const jwks = await live.call('GET', '/.well-known/jwks.json');
      assert.equal(jwks.body.keys.length, 2);
    });

    it('jku, x5u and jwk headers pointing at an attacker\'s key are ignored (never fetched, never trusted)', async () => {
      const { access } = await v1Login(live, 'alice');
      const { header, payload } = parts(access);
      const own = await generateKeyPair('ES256', { extractable: true });
      const ownKid = 'attacker-key';
      const ownJwk = { ...(await exportJWK(own.publicKey)), kid: ownKid, alg: 'ES256', use: 'sig' };
      let fetched = 0;
      const attacker = http.createServer((_req, res) => {
        fetched++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [ownJwk] }));
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(attacker.address() as { port: number }).port}/jwks.json`;
      try {
        const sign = (h: Record<string, unknown>) => new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...h } as any).sign(own.privateKey);
        for (const kid of [ownKid, header.kid]) {
          await refusedEverywhere(await sign({ kid, jku: url }), alice);
          await refusedEverywhere(await sign({ kid, x5u: url }), alice);
          await refusedEverywhere(await sign({ kid, jwk: ownJwk }), alice);
          await refusedEverywhere(await sign({ kid, jku: url, x5u: url, jwk: ownJwk }), alice);
        }
        assert.equal(fetched, 0, 'the server never fetched the attacker\'s key set');
      } finally {
        await new Promise<void>((resolve) => attacker.close(() => resolve()));
      }
    });

    it('a tampered payload (another subject, tenant, lifetime or type) fails the signature check', async () => {
      const { access } = await v1Login(live, 'alice');
      const [h, , s] = access.split('.');
      const { payload } = parts(access);
      const tampered = [
        { ...payload, sub: bob.id, user_id: bob.id, username: 'bob' },
        { ...payload, sub: superuser.id },
        { ...payload, tenant: 'acme' },
        { ...payload, exp: (payload.exp as number) + 86_400 },
        { ...payload, groups: ['admins'] },
      ];
      for (const p of tampered) await refusedEverywhere(`${h}.${b64(p)}.${s}`, alice);
      await refusedEverywhere(`${h}.${b64(payload)}.`, alice); // signature stripped
      await refusedEverywhere(`${h}.${b64(payload)}.${Buffer.alloc(64).toString('base64url')}`, alice);
      await refusedEverywhere('not-a-jwt', alice);
      await refusedEverywhere(`${access}.${s}`, alice); // five segments (JWE shape)
    });

    it('an expired token is refused from its exp on; a second before, it is accepted', async () => {
      const { access } = await v1Login(live, 'alice');
      const lifetime = (parts(access).payload.exp as number) - (parts(access).payload.iat as number);
      assert.equal(lifetime, 300);
      clock.advance((lifetime - 1) * 1000);
      await acceptedEverywhere(access, alice);
      clock.advance(1000);
      // Verified tokens are remembered until their exp; a remembered one and one never seen
      // before are refused alike (no hint that the token was used before).
      await refusedEverywhere(access, alice);
      const fresh = await v1Login(live, 'alice');
      const unseen = await v1Login(live, 'alice');
      await acceptedEverywhere(fresh.access, alice);
      clock.advance(lifetime * 1000);
      await refusedEverywhere(fresh.access, alice);
      await refusedEverywhere(unseen.access, alice);
    });

    it('a token not yet valid (nbf ahead, iat more than a minute ahead) is refused', async () => {
      const { access } = await v1Login(live, 'alice');
      const { payload } = parts(access);
      const now = Math.floor(clock.now() / 1000);
      await refusedEverywhere(await forge({ ...payload, nbf: now + 30 }), alice);
      await refusedEverywhere(await forge({ ...payload, iat: now + 3600, exp: now + 7200 }), alice);
      // A genuine token presented while the server's clock is behind its iat by more than the
      // minute of leeway (the clock moved back, or the token came from a server ahead in time).
      const issued = await v1Login(live, 'bob');
      clock.advance(-61_000);
      try {
        await refusedEverywhere(issued.access, bob);
      } finally {
        clock.advance(61_000);
      }
      await acceptedEverywhere(issued.access, bob);
    });

    it('a wrong or missing issuer is refused', async () => {
      const { access } = await v1Login(live, 'alice');
      const { payload } = parts(access);
      for (const iss of ['http://evil.test', `${PUBLIC_URL}/`, PUBLIC_URL.toUpperCase(), '']) {
        await refusedEverywhere(await forge({ ...payload, iss }), alice);
      }
      const { iss: _, ...noIss } = payload;
      await refusedEverywhere(await forge(noIss), alice);
    });

    it('the wrong token type is refused: token_type refresh, a typ other than at+jwt, an opaque refresh token as Bearer', async () => {
      const { access, refresh } = await v1Login(live, 'alice');
      const { payload } = parts(access);
      await refusedEverywhere(await forge({ ...payload, token_type: 'refresh' }), alice);
      const { token_type: _, ...noType } = payload;
      await refusedEverywhere(await forge(noType), alice);
      for (const typ of ['JWT', 'jwt', 'application/at+jwt+x', 'refresh+jwt']) {
        await refusedEverywhere(await forge(payload, { typ }), alice);
      }
      await refusedEverywhere(await forge(payload, { typ: undefined }), alice);
      // The refresh token is opaque: as a Bearer credential it is simply not a token.
      await refusedEverywhere(refresh, alice);
      const v2 = await v2Login(live, 'alice');
      await refusedEverywhere(v2.refresh, alice);
    });

    it('an access token posted to the refresh endpoints is refused (v1 401, OAuth2 invalid_grant)', async () => {
      const { access } = await v1Login(live, 'alice');
      const r1 = await live.call('POST', '/api/token/refresh', { json: { refresh: access } });
      assert.equal(r1.status, 401);
      assert.deepEqual(r1.body, { detail: 'Token is invalid or expired', code: 'token_not_valid' });
      const r2 = await live.call('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: access } });
      assert.equal(r2.status, 400);
      assert.deepEqual(r2.body, { error: 'invalid_grant', error_description: 'Token is invalid or expired', detail: 'Token is invalid or expired' });
      await acceptedEverywhere(access, alice); // and the access token itself is untouched
    });

    it('the token of a deleted user is refused', async () => {
      const victim = await live.t.createUser({ username: 'doomed', password: PASSWORD });
      const { access } = await v1Login(live, 'doomed');
      await acceptedEverywhere(access, victim);
      const staffToken = (await v1Login(live, 'staff')).access;
      const del = await live.call('DELETE', `/api/users/${victim.id}/`, { bearer: staffToken });
      assert.equal(del.status, 204);
      await refusedEverywhere(access, victim, USER_GONE);
    });

    it('the token of a disabled user is refused, and stays refused after the user is enabled again', async () => {
      const victim = await live.t.createUser({ username: 'paused', password: PASSWORD });
      const { access } = await v1Login(live, 'paused');
      await acceptedEverywhere(access, victim);
      const staffToken = (await v1Login(live, 'staff')).access;
      const off = await live.call('PATCH', `/user/${victim.pk}/`, { bearer: staffToken, json: { is_active: false } });
      assert.equal(off.status, 200, off.text);
      await refusedEverywhere(access, victim, USER_GONE);
      const on = await live.call('PUT', `/api/v2/users/${victim.pk}`, { bearer: staffToken, json: { username: 'paused', enabled: true, is_admin: false } });
      assert.equal(on.status, 200, on.text);
      await refusedEverywhere(access, victim, REVOKED);
    });

    it('a token of another tenant\'s user is refused for this tenant (X-Tenant, forged tenant claim, disabled tenant)', async () => {
      const { access } = await v1Login(live, 'eve', PASSWORD, { 'x-tenant': 'acme' });
      await acceptedEverywhere(access, eve);
      // Asking for the default tenant with an acme credential.
      const wrongTenant = 'This credential does not belong to the requested tenant.';
      for (const p of probes) {
        const r = await live.call('GET', p.path(eve), { bearer: access, headers: { 'x-tenant': 'default' } });
        assert.equal(r.status, 401, p.dialect);
        const expected = { v1: { detail: wrongTenant }, authn: { errors: [], message: wrongTenant, status: 401 }, 'oauth2-v2': { detail: 'Not authenticated' }, 'rest-auth': { detail: wrongTenant } }[p.dialect];
        assert.deepEqual(r.body, expected, p.dialect);
      }
      // Eve's token with its tenant claim rewritten (and validly signed) names no user there.
      await refusedEverywhere(await forge({ ...parts(access).payload, tenant: 'default' }), eve, USER_GONE);
      // A disabled tenant's tokens stop at once.
      const superAccess = (await v1Login(live, 'root')).access;
      const off = await live.call('PATCH', '/api/tenants/acme/', { bearer: superAccess, json: { is_active: false } });
      assert.equal(off.status, 200, off.text);
      try {
        await refusedEverywhere(access, eve, 'Tenant is disabled');
      } finally {
        const on = await live.call('PATCH', '/api/tenants/acme/', { bearer: superAccess, json: { is_active: true } });
        assert.equal(on.status, 200, on.text);
      }
      await acceptedEverywhere(access, eve);
    });

    it('tokens issued before a password change made through another sign-in are refused; the sign-in used keeps working', async () => {
      const user = await live.t.createUser({ username: 'changer', password: PASSWORD });
      const a = await v1Login(live, 'changer');
      const b = await v2Login(live, 'changer');
      const r = await live.call('POST', '/api/auth/change-password', { bearer: a.access, json: { current_password: PASSWORD, new_password: 'another-long-passphrase' } });
      assert.equal(r.status, 201, r.text);
      await refusedEverywhere(b.access, user, REVOKED);
      await acceptedEverywhere(a.access, user);
      const refreshB = await live.call('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: b.refresh } });
      assert.equal(refreshB.status, 400);
      assert.equal(refreshB.body.error, 'invalid_grant');
    });

    it('tokens issued before an administrator sets the password are all refused', async () => {
      const user = await live.t.createUser({ username: 'reset-me', password: PASSWORD });
      const staffToken = (await v1Login(live, 'staff')).access;
      const a = await v1Login(live, 'reset-me');
      const viaAuthn = await live.call('PATCH', `/user/${user.pk}/`, { bearer: staffToken, json: { password: 'set-by-the-admin-1' } });
      assert.equal(viaAuthn.status, 200, viaAuthn.text);
      await refusedEverywhere(a.access, user, REVOKED);
      const b = await v1Login(live, 'reset-me', 'set-by-the-admin-1');
      const viaV2 = await live.call('PUT', `/api/v2/users/${user.pk}/password`, { bearer: staffToken, json: { password: 'set-by-the-admin-2' } });
      assert.equal(viaV2.status, 200, viaV2.text);
      await refusedEverywhere(b.access, user, REVOKED);
      await acceptedEverywhere((await v1Login(live, 'reset-me', 'set-by-the-admin-2')).access, user);
    });
  });
}
