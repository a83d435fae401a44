// Threat: a forged or replayed v1 refresh JWT. The v1 refresh token is a JSON web token, as
// simplejwt's is (front-ends read its `exp` with `JSON.parse(atob(refresh.split('.')[1]))`): HS256
// under a key only Latchkey holds, with simplejwt's claims and the family it belongs to. Being
// readable must not make it forgeable: an altered payload, a flipped signature, `alg: none`,
// another key, or an expired token is refused with simplejwt's 401 `token_not_valid`, and the
// family design holds as before (single use, a reused token revokes its family). Tokens of the
// earlier `<family>.<secret>` form still work once; a key rotation leaves issued refresh tokens
// valid. Time is a manual clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { engines } from '../helpers/engines.ts';
import { fastHasher, startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { ManualClock } from '../../src/core/index.ts';
import { FORM, form } from '../tenancy/support.ts';

const PW = 'refresh-jwt-pass-1';
const REFUSED = { detail: 'Token is invalid or expired', code: 'token_not_valid' };
const part = (token: string, i: number) => JSON.parse(Buffer.from(token.split('.')[i]!, 'base64url').toString());
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

for (const { engine, skip } of engines) {
  describe(`v1 refresh JWTs [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock(Date.now());
    let t: TestApp;
    let userId: string;
    const obtain = async () => {
      const r = await t.request({ method: 'POST', url: '/api/token', payload: { username: 'jay', password: PW } });
      assert.equal(r.statusCode, 200, r.body);
      noteSecret(r.json().refresh);
      noteSecret(r.json().access);
      return r.json() as { access: string; refresh: string };
    };
    const refresh = async (token: string) => {
      const r = await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: token } });
      if (r.statusCode === 200) noteSecret(r.json().refresh);
      return r;
    };
    const refused = (r: Awaited<ReturnType<typeof refresh>>, what: string) => {
      assert.equal(r.statusCode, 401, `${what}: ${r.body}`);
      assert.deepEqual(r.json(), REFUSED, what);
    };

    before(async () => {
      t = await startApp(engine, { clock, hasher: fastHasher() });
      userId = (await t.createUser({ username: 'jay', password: PW })).id;
    });
    after(async () => {
      await t?.close();
    });

    it('POST /api/token and /api/token/refresh answer a three-part HS256 JWT with simplejwt\'s claims, which a front-end reads with atob', async () => {
      let { refresh: rt, access } = await obtain();
      for (let i = 0; i < 20; i++) {
        assert.equal(rt.split('.').length, 3);
        const header = part(rt, 0);
        assert.equal(header.alg, 'HS256');
        assert.equal(header.typ, 'JWT');
        assert.match(header.kid, /^[0-9a-f-]{36}$/);
        // What simplejwt front-ends do, in the browser's own functions.
        const payload = JSON.parse(atob(rt.split('.')[1]!));
        assert.equal(payload.token_type, 'refresh');
        assert.equal(payload.user_id, userId);
        assert.equal(payload.iat, Math.floor(clock.now() / 1000));
        assert.equal(payload.exp, payload.iat + 86_400, 'refresh_token_lifetime');
        assert.match(payload.jti, /^[A-Za-z0-9_-]{43}$/);
        assert.equal(payload.fam, part(access, 1).fam, 'it names the sign-in its access tokens name');
        if (i === 0) {
          const asBearer = await t.request({ method: 'GET', url: '/user_info/', headers: { authorization: `Bearer ${rt}` } });
          assert.equal(asBearer.statusCode, 401, 'a refresh JWT is no access token');
        }
        clock.advance(1000);
        const r = await refresh(rt);
        assert.equal(r.statusCode, 200, r.body);
        ({ refresh: rt, access } = r.json());
      }
    });

    it('single use: a refresh JWT presented again is refused and revokes its family, the newest token included', async () => {
      const first = (await obtain()).refresh;
      const next = await refresh(first);
      assert.equal(next.statusCode, 200);
      refused(await refresh(first), 'reused');
      refused(await refresh(next.json().refresh), 'the family is revoked');
    });

    it('altered, re-signed, unsigned or expired refresh JWTs are refused with 401 token_not_valid, and spend nothing', async () => {
      const genuine = (await obtain()).refresh;
      const [h, p, s] = genuine.split('.') as [string, string, string];
      const header = part(genuine, 0);
      const payload = part(genuine, 1);
      const sig = Buffer.from(s, 'base64url');
      sig[0]! ^= 0x01;
      const otherKey = createSigner({ key: crypto.randomBytes(32).toString('base64url'), algorithm: 'HS256', kid: header.kid, header: { alg: 'HS256', typ: 'JWT' } });
      const forged: Record<string, string> = {
        'payload changed (longer life)': `${h}.${b64({ ...payload, exp: payload.exp + 86_400 * 365 })}.${s}`,
        'payload changed (another user)': `${h}.${b64({ ...payload, user_id: crypto.randomUUID() })}.${s}`,
        'signature changed': `${h}.${p}.${sig.toString('base64url')}`,
        'alg none': `${b64({ ...header, alg: 'none' })}.${p}.`,
        'alg none, no kid': `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
        'signed with another key under our kid': otherKey(payload),
        'an unknown kid': `${b64({ ...header, kid: crypto.randomUUID() })}.${p}.${s}`,
        'an access token': (await obtain()).access,
        'not base64': 'a.b.c',
        'three dots': 'x.y.z.w',
      };
      for (const [what, token] of Object.entries(forged)) refused(await refresh(token), what);
      const ok = await refresh(genuine);
      assert.equal(ok.statusCode, 200, 'the genuine token was not spent by the forgeries');
      // Past its `exp` (and the stored expiry): refused.
      clock.advance(86_400_000 + 1000);
      refused(await refresh(ok.json().refresh), 'expired');
    });

    it('a token of the earlier <family>.<secret> form works once at v1 (then the answer is a JWT), and either form works at POST /token', async () => {
      const opaque = await t.request({ method: 'POST', url: '/token', headers: FORM, payload: form({ grant_type: 'password', username: 'jay', password: PW }) });
      assert.equal(opaque.statusCode, 200, opaque.body);
      const old = opaque.json().refresh_token as string;
      noteSecret(old);
      assert.match(old, /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
      const upgraded = await refresh(old);
      assert.equal(upgraded.statusCode, 200, upgraded.body);
      assert.equal(part(upgraded.json().refresh, 1).token_type, 'refresh');
      assert.equal(part(upgraded.json().refresh, 1).fam, old.split('.')[0], 'the same family goes on');
      // The JWT at the OAuth endpoint: an opaque token comes back, of the same family.
      const back = await t.request({ method: 'POST', url: '/token', headers: FORM, payload: form({ grant_type: 'refresh_token', refresh_token: upgraded.json().refresh }) });
      assert.equal(back.statusCode, 200, back.body);
      noteSecret(back.json().refresh_token);
      assert.equal(back.json().refresh_token.split('.')[0], old.split('.')[0]);
      refused(await refresh(old), 'the old form was spent, and its reuse revoked the family');
    });

    it('after a key rotation, refresh JWTs signed before still work, and new ones carry the new key', async () => {
      const before = (await obtain()).refresh;
      const oldKid = part(before, 0).kid;
      const rotated = await t.core.rotateSigningKey();
      assert.notEqual(rotated.refresh, oldKid);
      const r = await refresh(before);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(part(r.json().refresh, 0).kid, rotated.refresh);
      const keys = await t.store.read.refreshKeys.all();
      assert.equal(keys.find((k) => k.kid === oldKid)?.state, 'retired');
      assert.equal(keys.filter((k) => k.state === 'current').length, 1);
    });
  });
}
