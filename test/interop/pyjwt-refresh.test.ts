// Debian's PyJWT reads a v1 refresh token as what it is: a standard JWT. Without the key (what a
// front-end or a simplejwt-minded tool can do) it reads the header and simplejwt's claims; with
// the server's key (only Latchkey holds it; the test takes it from the database) jwt.decode with
// HS256 verifies it, and refuses it altered or once expired.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { request } from '../helpers/processes.ts';
import { listening, python, pythonSkip, type Listening } from './support.ts';

const SCRIPT = String.raw`
import json, os, time
import jwt
env = os.environ
token = env['LK_REFRESH']
out = {'version': jwt.__version__}
out['header'] = jwt.get_unverified_header(token)
out['unverified'] = jwt.decode(token, options={'verify_signature': False})
def check(t, **kw):
    try:
        return {'ok': True, 'claims': jwt.decode(t, env['LK_KEY'], algorithms=['HS256'], **kw)}
    except jwt.PyJWTError as e:
        return {'ok': False, 'error': type(e).__name__}
out['verified'] = check(token)
h, p, s = token.split('.')
out['tampered'] = check(h + '.' + p[:-2] + ('A' if p[-2] != 'A' else 'B') + p[-1] + '.' + s)
# A day and a second from now, as jwt.decode sees it (a negative leeway moves its clock on).
out['later'] = check(token, leeway=-(out['unverified']['exp'] - int(time.time()) + 1), options={'verify_iat': False})
print(json.dumps(out))
`;

const skipPython = pythonSkip(['jwt']);

for (const { engine, skip } of engines) {
  describe(`PyJWT reads v1 refresh tokens [${engine.name}]`, { skip: skip || skipPython }, () => {
    let s: Listening;
    before(async () => {
      s = await listening(engine);
    });
    after(async () => {
      await s?.close();
    });

    it('jwt.decode: token_type "refresh", exp, iat, jti, user_id; verified with HS256 and the server\'s key; altered or expired, refused', async () => {
      const r = await request(s.base, 'POST', '/api/token', { json: { username: s.user.username, password: s.user.password } });
      assert.equal(r.status, 200, r.text);
      const refresh = r.body.refresh as string;
      noteSecret(refresh);
      noteSecret(r.body.access);
      const kid = JSON.parse(Buffer.from(refresh.split('.')[0]!, 'base64url').toString()).kid;
      const key = (await s.t.store.read.refreshKeys.all()).find((k) => k.kid === kid)!.secret;
      noteSecret(key);
      const out = await python(SCRIPT, { LK_REFRESH: refresh, LK_KEY: key });
      assert.match(out.version, /^2\./);
      assert.deepEqual(out.header, { alg: 'HS256', typ: 'JWT', kid });
      const c = out.unverified;
      const now = Math.floor(Date.now() / 1000);
      assert.equal(c.token_type, 'refresh');
      assert.equal(c.user_id, s.user.id);
      assert.ok(Number.isInteger(c.iat) && Math.abs(c.iat - now) <= 5);
      assert.equal(c.exp, c.iat + 86_400);
      assert.equal(typeof c.jti, 'string');
      assert.deepEqual(out.verified, { ok: true, claims: c });
      assert.deepEqual(out.tampered, { ok: false, error: 'InvalidSignatureError' });
      assert.deepEqual(out.later, { ok: false, error: 'ExpiredSignatureError' });
    });
  });
}
