// The tenant settings that shape access tokens for outside verifiers (design notes, "Tokens and
// keys"): `token_signing_algorithm` switches a tenant to RS256 for verifiers that know only RSA,
// and `token_audience` adds an `aud` claim. Checked the way a resource server would: Debian's
// PyJWT through PyJWKClient and the npm jose package through createRemoteJWKSet, both fetching
// /.well-known/jwks.json from a listening Latchkey; settings changed over the v1 API by staff.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, errors } from 'jose';
import { engines } from '../helpers/engines.ts';
import { request } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { ISSUER, listening, python, pythonSkip, type Listening } from './support.ts';

const SCRIPT = String.raw`
import json, os
import jwt
env = os.environ
client = jwt.PyJWKClient(env['LK_BASE'] + '/.well-known/jwks.json', cache_keys=False)
kwargs = {'algorithms': env['LK_ALGS'].split(','), 'issuer': env['LK_ISSUER']}
if env.get('LK_AUDIENCE'):
    kwargs['audience'] = env['LK_AUDIENCE']
try:
    key = client.get_signing_key_from_jwt(env['LK_TOKEN'])
    claims = jwt.decode(env['LK_TOKEN'], key.key, **kwargs)
    print(json.dumps({'ok': True, 'kid': key.key_id, 'claims': claims}))
except jwt.PyJWTError as e:
    print(json.dumps({'ok': False, 'error': type(e).__name__, 'message': str(e)}))
`;

const skipPython = pythonSkip(['jwt', 'cryptography']);
const PASSWORD = 'interop-token-pass-1';

for (const { engine, skip } of engines) {
  describe(`tenant token settings: RS256 and aud, as PyJWT and jose see them [${engine.name}]`, { skip: skip || skipPython }, () => {
    let s: Listening;
    let staff: string;
    before(async () => {
      s = await listening(engine);
      noteSecret(PASSWORD);
      const r = await request(s.base, 'POST', '/api/token', { json: { username: 'boss', password: PASSWORD } });
      assert.equal(r.status, 200, r.text);
      staff = r.body.access;
    });
    after(async () => {
      await s?.close();
    });

    const configure = (key: string, value: string) =>
      request(s.base, 'POST', '/api/configuration/', { json: { key, value }, headers: { authorization: `Bearer ${staff}` } });
    const signInPair = async () => {
      const r = await request(s.base, 'POST', '/api/token', { json: { username: 'riley', password: PASSWORD } });
      assert.equal(r.status, 200, r.text);
      return r.body as { access: string; refresh: string };
    };
    const worksHere = async (token: string) =>
      (await request(s.base, 'GET', `/api/users/${s.user.id}/`, { headers: { authorization: `Bearer ${token}` } })).status;
    const pyjwt = (token: string, algs: string, audience = '') =>
      python(SCRIPT, { LK_BASE: s.base, LK_ISSUER: ISSUER, LK_TOKEN: token, LK_ALGS: algs, LK_AUDIENCE: audience });
    const jwksUrl = () => new URL(`${s.base}/.well-known/jwks.json`);

    it('values are checked: only ES256 or RS256, an audience of printable ASCII up to 200 characters', async () => {
      for (const bad of ['HS256', 'none', 'rs256', 'EdDSA', '']) {
        const r = await configure('token_signing_algorithm', bad);
        assert.equal(r.status, 400, bad);
        assert.deepEqual(r.body, { value: ['Must be one of: ES256, RS256.'] });
      }
      for (const bad of ['x'.repeat(201), 'https://api.example.test/\u00e9', 'a\nb']) {
        const r = await configure('token_audience', bad);
        assert.equal(r.status, 400);
        assert.deepEqual(r.body, { value: ['At most 200 printable ASCII characters.'] });
      }
      const all = (await request(s.base, 'GET', '/api/configuration/', { headers: { authorization: `Bearer ${staff}` } })).body.resources;
      assert.deepEqual(all.filter((e: any) => e.key.startsWith('token_')), [
        { key: 'token_audience', value: '' },
        { key: 'token_signing_algorithm', value: 'ES256' },
      ]);
      const { access } = await signInPair();
      assert.equal(decodeProtectedHeader(access).alg, 'ES256', 'refused values changed nothing');
    });

    it('RS256: the keys are published when the setting is saved; tokens then verify with PyJWT and jose as RS256 only', async () => {
      const esKids = (await s.jwks()).keys.map((k) => k.kid);
      assert.deepEqual((await s.jwks()).keys.map((k) => k.kty), ['EC', 'EC'], 'no RSA key before a tenant asks for one');
      const r = await configure('token_signing_algorithm', 'RS256');
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.body, { key: 'token_signing_algorithm', value: 'RS256' });

      // Published with the answer, before any RS256 token exists: a current and a next key.
      const published = (await s.jwks()).keys;
      const rsa = published.filter((k) => k.kty === 'RSA');
      assert.equal(rsa.length, 2);
      for (const k of rsa) {
        assert.equal(k.alg, 'RS256');
        assert.equal(k.use, 'sig');
        assert.ok(Buffer.from(k.n!, 'base64url').length === 256, '2048-bit modulus');
        assert.equal('d' in k || 'p' in k, false, 'no private part published');
      }
      assert.deepEqual(published.filter((k) => k.kty === 'EC').map((k) => k.kid), esKids, 'the ES256 keys stay published');

      const { access, refresh } = await signInPair();
      const header = decodeProtectedHeader(access);
      assert.deepEqual({ alg: header.alg, typ: header.typ }, { alg: 'RS256', typ: 'at+jwt' });
      assert.ok(rsa.some((k) => k.kid === header.kid), 'signed with a published RSA key');
      assert.equal(await worksHere(access), 200);

      const ok = await pyjwt(access, 'RS256');
      assert.equal(ok.ok, true, JSON.stringify(ok));
      assert.equal(ok.kid, header.kid);
      assert.equal(ok.claims.sub, s.user.id);
      assert.equal(ok.claims.token_type, 'access');
      const esOnly = await pyjwt(access, 'ES256');
      assert.equal(esOnly.error, 'InvalidAlgorithmError', 'it really is RS256: an ES256-only verifier refuses it');

      const jwks = createRemoteJWKSet(jwksUrl());
      const { protectedHeader } = await jwtVerify(access, jwks, { issuer: ISSUER, typ: 'at+jwt', algorithms: ['RS256'] });
      assert.equal(protectedHeader.alg, 'RS256');
      await assert.rejects(jwtVerify(access, jwks, { issuer: ISSUER, algorithms: ['ES256'] }), errors.JOSEAlgNotAllowed);

      // A refresh issues RS256 too.
      const rr = await request(s.base, 'POST', '/api/token/refresh/', { json: { refresh } });
      assert.equal(rr.status, 200, rr.text);
      assert.equal(decodeProtectedHeader(rr.body.access).alg, 'RS256');
      assert.equal((await pyjwt(rr.body.access, 'RS256')).ok, true);
    });

    it('keys rotate rotates the RS256 keys too; RS256 tokens from before still verify, and switching back to ES256 keeps them valid', async () => {
      const before = (await signInPair()).access;
      const rotated = await s.t.core.rotateSigningKey();
      assert.deepEqual(rotated.rotated.map((k) => k.alg).sort(), ['ES256', 'RS256']);
      const rs = rotated.rotated.find((k) => k.alg === 'RS256')!;
      const after = (await signInPair()).access;
      assert.equal(decodeProtectedHeader(after).kid, rs.current, 'new tokens use the promoted RS256 key');
      assert.notEqual(decodeProtectedHeader(before).kid, rs.current);
      for (const token of [before, after]) {
        const r = await pyjwt(token, 'RS256');
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(await worksHere(token), 200);
      }

      assert.equal((await configure('token_signing_algorithm', 'ES256')).status, 201);
      const es = (await signInPair()).access;
      assert.equal(decodeProtectedHeader(es).alg, 'ES256');
      assert.equal(decodeProtectedHeader(es).kid, rotated.current);
      assert.equal((await pyjwt(es, 'ES256')).ok, true);
      assert.equal(await worksHere(after), 200, 'an RS256 token issued before the switch back lives until it expires');
      assert.equal((await pyjwt(after, 'RS256')).ok, true);
    });

    it('token_audience: tokens carry it as aud; PyJWT accepts them when told that audience and refuses them otherwise', async () => {
      const aud = 'https://api.example.test';
      assert.equal((await configure('token_audience', aud)).status, 201);
      const { access } = await signInPair();
      assert.equal(await worksHere(access), 200, 'Latchkey itself takes its own tokens whatever their audience');
      const ok = await pyjwt(access, 'ES256', aud);
      assert.equal(ok.ok, true, JSON.stringify(ok));
      assert.equal(ok.claims.aud, aud);
      assert.equal((await pyjwt(access, 'ES256', 'https://other.example.test')).error, 'InvalidAudienceError');
      assert.equal((await pyjwt(access, 'ES256')).error, 'InvalidAudienceError', 'PyJWT refuses an aud it was not told to expect');
      const jwks = createRemoteJWKSet(jwksUrl());
      await jwtVerify(access, jwks, { issuer: ISSUER, audience: aud, algorithms: ['ES256'] });
      await assert.rejects(jwtVerify(access, jwks, { issuer: ISSUER, audience: 'https://other.example.test', algorithms: ['ES256'] }), errors.JWTClaimValidationFailed);

      // Emptied again: no aud, and PyJWT without an audience accepts the token.
      assert.equal((await configure('token_audience', '')).status, 201);
      const plain = (await signInPair()).access;
      const r = await pyjwt(plain, 'ES256');
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal('aud' in r.claims, false);
    });
  });
}
