// Debian's PyJWT as a resource server would use it against a listening Latchkey: the keys from
// /.well-known/jwks.json through jwt.PyJWKClient, jwt.decode with ES256 only and our issuer, no
// audience. A token signed in over HTTP verifies and carries its claims; forged ones are refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { ISSUER, forgeries, listening, python, pythonSkip, type Listening } from './support.ts';

const SCRIPT = String.raw`
import json, os, sys
import jwt
env = os.environ
client = jwt.PyJWKClient(env['LK_BASE'] + '/.well-known/jwks.json')

def check(token, issuer):
    try:
        signing_key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, signing_key.key, algorithms=['ES256'], issuer=issuer)
        return {'ok': True, 'kid': signing_key.key_id, 'claims': claims}
    except jwt.PyJWTError as e:
        return {'ok': False, 'error': type(e).__name__, 'message': str(e)}

out = {'version': jwt.__version__}
out['genuine'] = check(env['LK_TOKEN'], env['LK_ISSUER'])
out['wrong_issuer'] = check(env['LK_TOKEN'], 'http://someone-else.test')
out['forged'] = {name[len('LK_FORGED_'):]: check(value, env['LK_ISSUER']) for name, value in env.items() if name.startswith('LK_FORGED_')}
print(json.dumps(out))
`;

const skipPython = pythonSkip(['jwt', 'cryptography']);

for (const { engine, skip } of engines) {
  describe(`PyJWT verifies Latchkey access tokens [${engine.name}]`, { skip: skip || skipPython }, () => {
    let s: Listening;
    before(async () => {
      s = await listening(engine);
    });
    after(async () => {
      await s?.close();
    });

    it('PyJWKClient + jwt.decode(ES256, issuer) accept a token from POST /api/token, with no audience, and refuse forgeries', async () => {
      const token = await s.signIn();
      const forged = forgeries(token);
      const out = await python(SCRIPT, {
        LK_BASE: s.base, LK_ISSUER: ISSUER, LK_TOKEN: token,
        ...Object.fromEntries(Object.entries(forged).map(([k, v]) => [`LK_FORGED_${k}`, v])),
      });
      assert.match(out.version, /^2\./);

      assert.equal(out.genuine.ok, true, `PyJWT refused a genuine token: ${JSON.stringify(out.genuine)}`);
      const c = out.genuine.claims;
      const now = Math.floor(Date.now() / 1000);
      assert.equal(c.iss, ISSUER);
      assert.equal(c.sub, s.user.id);
      assert.equal(c.tenant, s.user.tenant);
      assert.equal(c.token_type, 'access');
      assert.match(c.jti, /^[0-9a-f-]{36}$/);
      assert.ok(Number.isInteger(c.exp) && c.exp > now && c.exp <= now + 5 * 60 + 5, `exp ${c.exp} is not about 5 minutes ahead of ${now}`);
      assert.ok(Number.isInteger(c.iat) && c.iat <= now + 1);
      assert.deepEqual([...c.groups].sort(), s.user.groups);
      assert.equal('aud' in c, false, 'no audience is sent, so PyJWT needs none');
      // The key PyJWT picked is the one the server publishes first (its current key).
      assert.equal(out.genuine.kid, (await s.jwks()).keys[0]!.kid);

      // The issuer is really checked: the same token under another expected issuer fails.
      assert.deepEqual({ ok: out.wrong_issuer.ok, error: out.wrong_issuer.error }, { ok: false, error: 'InvalidIssuerError' });

      assert.deepEqual(Object.keys(out.forged).sort(), Object.keys(forged).sort());
      for (const [name, r] of Object.entries<any>(out.forged)) {
        assert.equal(r.ok, false, `PyJWT accepted the forgery ${name}`);
      }
      assert.equal(out.forged.payload_changed.error, 'InvalidSignatureError');
      assert.equal(out.forged.signature_changed.error, 'InvalidSignatureError');
      assert.equal(out.forged.alg_none.error, 'InvalidAlgorithmError');
    });

    it('a second sign-in gives a different jti that PyJWT verifies as well', async () => {
      const [a, b] = [await s.signIn(), await s.signIn()];
      const [ra, rb] = await Promise.all([a, b].map((token) => python(SCRIPT, { LK_BASE: s.base, LK_ISSUER: ISSUER, LK_TOKEN: token })));
      assert.equal(ra.genuine.ok, true, JSON.stringify(ra.genuine));
      assert.equal(rb.genuine.ok, true, JSON.stringify(rb.genuine));
      assert.notEqual(ra.genuine.claims.jti, rb.genuine.claims.jti);
    });
  });
}
