// The npm `jose` package as a Node resource server would use it: createRemoteJWKSet over our
// /.well-known/jwks.json and jwtVerify with our issuer, `typ: at+jwt` and ES256 only, against a
// listening Latchkey. Across key rotations the same remote key set keeps verifying new and old
// tokens: after one rotation without fetching again (the new key was published ahead as "next"),
// after a second one by fetching again for the unknown kid.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, errors } from 'jose';
import { engines } from '../helpers/engines.ts';
import { ISSUER, forgeries, listening, type Listening } from './support.ts';

const OPTIONS = { issuer: ISSUER, typ: 'at+jwt', algorithms: ['ES256'] };

for (const { engine, skip } of engines) {
  describe(`jose verifies Latchkey access tokens through the remote JWKS [${engine.name}]`, { skip }, () => {
    let s: Listening;
    let jwksFetches = 0;
    before(async () => {
      s = await listening(engine);
      s.t.app.server.on('request', (req) => {
        if (req.url?.startsWith('/.well-known/jwks.json')) jwksFetches++;
      });
    });
    after(async () => {
      await s?.close();
    });

    const url = () => new URL(`${s.base}/.well-known/jwks.json`);
    const kid = (token: string) => decodeProtectedHeader(token).kid;

    it('jwtVerify(token, createRemoteJWKSet(...), {issuer, typ: at+jwt, algorithms: [ES256]}) accepts a token from POST /api/token and refuses forgeries', async () => {
      const jwks = createRemoteJWKSet(url());
      const token = await s.signIn();
      const { payload, protectedHeader } = await jwtVerify(token, jwks, OPTIONS);
      assert.deepEqual({ alg: protectedHeader.alg, typ: protectedHeader.typ }, { alg: 'ES256', typ: 'at+jwt' });
      assert.equal(payload.iss, ISSUER);
      assert.equal(payload.sub, s.user.id);
      assert.equal(payload.tenant, s.user.tenant);
      assert.equal(payload.token_type, 'access');
      assert.equal(payload.aud, undefined);
      assert.deepEqual([...(payload.groups as string[])].sort(), s.user.groups);

      for (const [name, forged] of Object.entries(forgeries(token))) {
        await assert.rejects(jwtVerify(forged, jwks, OPTIONS), errors.JOSEError, `jose accepted the forgery ${name}`);
      }
      await assert.rejects(jwtVerify(token, jwks, { ...OPTIONS, issuer: 'http://someone-else.test' }), errors.JWTClaimValidationFailed);
    });

    it('after keys.rotate() new tokens (new kid) and old ones verify through the same remote key set', async () => {
      // A resource server's defaults: the key set is cached (10 minutes) and not fetched again
      // within 30 s of a fetch.
      const cached = createRemoteJWKSet(url());
      // The same, but fetching again as soon as a token names a kid it does not know.
      const eager = createRemoteJWKSet(url(), { cooldownDuration: 0 });

      const first = await s.signIn();
      const fetchesBefore = jwksFetches;
      await jwtVerify(first, cached, OPTIONS);
      await jwtVerify(first, eager, OPTIONS);
      assert.equal(jwksFetches - fetchesBefore, 2, 'each key set fetched the JWKS once');

      // One rotation: the published "next" key signs now; both cached sets already hold it.
      const r1 = await s.t.core.keys.rotate();
      const second = await s.signIn();
      assert.equal(kid(second), r1.current);
      assert.notEqual(kid(second), kid(first));
      const fetchesAfterFirstRotation = jwksFetches;
      for (const set of [cached, eager]) {
        assert.equal((await jwtVerify(second, set, OPTIONS)).payload.sub, s.user.id);
        assert.equal((await jwtVerify(first, set, OPTIONS)).payload.sub, s.user.id);
      }
      assert.equal(jwksFetches, fetchesAfterFirstRotation, 'the new key was published before it signed: no fetch needed');

      // A second rotation: the key that signs now was created by the first rotation, after the
      // sets fetched. The eager set fetches again for the unknown kid and verifies it.
      const r2 = await s.t.core.keys.rotate();
      const third = await s.signIn();
      assert.equal(kid(third), r2.current);
      assert.ok(![kid(first), kid(second)].includes(kid(third)));
      assert.equal((await jwtVerify(third, eager, OPTIONS)).payload.sub, s.user.id);
      assert.equal(jwksFetches, fetchesAfterFirstRotation + 1, 'an unknown kid made the key set fetch the JWKS again');
      // Tokens of the retired keys are still valid until they expire: their keys stay published.
      for (const older of [first, second]) assert.equal((await jwtVerify(older, eager, OPTIONS)).payload.sub, s.user.id);
      // The published set now starts with the current key and still holds both older ones.
      const published = (await s.jwks()).keys.map((k) => k.kid);
      assert.equal(published[0], r2.current);
      assert.ok(published.includes(kid(first)) && published.includes(kid(second)));
    });
  });
}
