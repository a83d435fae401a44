// Threat: scope escalation by refresh. Whoever holds a refresh token (a leaked one, or a client
// that was granted little) asks the OAuth token endpoint for more on refresh: a refresh asking
// `admin superuser openid offline_access` of a grant that asked no scope, with no client
// registered, got 200 with exactly that scope, and resource servers trust the `scope` claim.
// RFC 6749 §6: the scope asked on refresh must not include any scope not originally granted;
// omitted, it is the original one; narrower is granted as asked. "Originally granted" is the
// scope asked at sign-in, or, when none was asked, what the client is registered for (what it
// could have asked then: requests-oauthlib names its session's scope only when refreshing).
// Over any refused refresh the token stays unspent (no partial write).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { OPERATOR } from '../../src/core/index.ts';
import { FORM, claims, form } from '../tenancy/support.ts';

const PW = 'refresh-scope-pass-1';
const WIDE = 'admin superuser openid offline_access';

for (const { engine, skip } of engines) {
  describe(`a refresh cannot widen the scope [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let basic: Record<string, string>;
    const token = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      t.request({ method: 'POST', url: '/token', headers: { ...FORM, ...headers }, payload: form(fields) });
    const signIn = async (headers: Record<string, string> = {}, scope?: string) => {
      const r = await token({ grant_type: 'password', username: 'scoped', password: PW, ...(scope ? { scope } : {}) }, headers);
      assert.equal(r.statusCode, 200, r.body);
      noteSecret(r.json().refresh_token);
      noteSecret(r.json().access_token);
      return r.json().refresh_token as string;
    };
    const refresh = (refreshToken: string, scope: string | undefined, headers: Record<string, string> = {}) =>
      token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...(scope === undefined ? {} : { scope }) }, headers);
    const refused = (r: Awaited<ReturnType<typeof refresh>>, what: string) => {
      assert.equal(r.statusCode, 400, `${what}: ${r.body}`);
      assert.equal(r.json().error, 'invalid_scope', what);
    };

    before(async () => {
      t = await startApp(engine);
      await t.createUser({ username: 'scoped', password: PW });
      const tenant = await t.core.tenants.resolve(undefined);
      const { client, secret } = await t.core.clients.create(OPERATOR, tenant, { name: 'Scoped', clientId: 'scoped.app', scopes: ['read', 'write'], confidential: true });
      noteSecret(secret);
      basic = { authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}` };
    });
    after(async () => {
      await t?.close();
    });

    it('no client, no scope asked at sign-in: a refresh asking any scope is 400 invalid_scope; without scope it goes on unscoped', async () => {
      const rt = await signIn();
      refused(await refresh(rt, WIDE), 'the attack run\'s refresh');
      refused(await refresh(rt, 'read'), 'a single scope');
      const ok = await refresh(rt, undefined);
      assert.equal(ok.statusCode, 200, 'the refused refreshes did not spend the token');
      assert.equal(claims(ok.json().access_token).scope, undefined);
      assert.equal(ok.json().scope, undefined);
    });

    it('a grant of "read": "read write" or another scope is refused; "read" and no scope give "read"', async () => {
      let rt = await signIn(basic, 'read');
      refused(await refresh(rt, 'read write', basic), 'wider');
      refused(await refresh(rt, 'write', basic), 'other');
      refused(await refresh(rt, WIDE, basic), 'foreign');
      for (const asked of ['read', undefined]) {
        const r = await refresh(rt, asked, basic);
        assert.equal(r.statusCode, 200, r.body);
        assert.equal(claims(r.json().access_token).scope, 'read');
        rt = r.json().refresh_token;
        noteSecret(rt);
      }
    });

    it('a grant of "read write" may be narrowed to "read" (as asked), and not widened back beyond the original grant', async () => {
      const rt = await signIn(basic, 'read write');
      const narrow = await refresh(rt, 'read', basic);
      assert.equal(narrow.statusCode, 200, narrow.body);
      assert.equal(claims(narrow.json().access_token).scope, 'read');
      const back = await refresh(narrow.json().refresh_token, 'read write', basic);
      assert.equal(back.statusCode, 200, 'the original grant is the bound, not the last refresh');
      refused(await refresh(back.json().refresh_token, 'read write admin', basic), 'beyond the original');
    });

    it('a client\'s unscoped grant may be narrowed to the client\'s registered scopes (requests-oauthlib), and no further', async () => {
      const rt = await signIn(basic);
      refused(await refresh(rt, 'read admin', basic), 'beyond the client\'s scopes');
      const r = await refresh(rt, 'read', basic);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(claims(r.json().access_token).scope, 'read');
    });
  });
}
