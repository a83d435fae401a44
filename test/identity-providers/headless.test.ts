// The headless API's provider endpoints: config lists the providers; an app hands over an ID
// token from the provider's SDK (auth/provider/token), verified with the provider (signature,
// issuer, audience); the browser's redirect flow ends on the front-end's callback URL signed in,
// or with ?error=; account/providers lists and (not for the last way in) disconnects.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { oidcApp, type OidcApp } from '../oidc/support.ts';
import { Browser, startStandIn, type StandIn } from './support.ts';
import { pyotpCode } from '../pages/support.ts';

const SECRET = 'headless-stand-in-secret-0123456789';
noteSecret(SECRET);

for (const { engine, skip } of engines) {
  describe(`headless provider endpoints (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let idp: StandIn;
    const json = (r: { text: string }) => JSON.parse(r.text);
    const appCall = (method: string, path: string, body?: unknown, token?: string) => app.t.request({
      method: method as 'GET', url: `/_allauth/app/v1/${path}`, payload: body as object, headers: token ? { 'x-session-token': token } : {},
    });
    before(async () => {
      app = await oidcApp(engine);
      idp = await startStandIn({ clientId: 'latchkey', clientSecret: SECRET });
      const r = await app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { id: 'acme', name: 'Acme', kind: 'oidc', issuer: idp.base, client_id: 'latchkey', client_secret: SECRET, jit: true } });
      assert.equal(r.statusCode, 201, r.body);
    });
    after(async () => {
      await idp?.close();
      await app?.close();
    });

    it('config and the flows list the enabled providers', async () => {
      const r = await appCall('GET', 'config');
      assert.deepEqual(r.json().data.socialaccount.providers, [{ id: 'acme', name: 'Acme', client_id: 'latchkey', openid_configuration_url: `${idp.base}/.well-known/openid-configuration`, flows: ['provider_redirect', 'provider_token'] }]);
    });

    it('auth/provider/token: an ID token from the provider signs the app in; a forged or foreign one is a 400', async () => {
      const idToken = await idp.mint({ sub: 'tok-1', email: 'tok@people.example', email_verified: true });
      const r = await appCall('POST', 'auth/provider/token', { provider: 'acme', process: 'login', token: { client_id: 'latchkey', id_token: idToken } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().data.user.email, 'tok@people.example');
      const session = r.json().meta.session_token;
      assert.ok(session);
      const list = await appCall('GET', 'account/providers', undefined, session);
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual(list.json().data.map((a: any) => [a.provider.id, a.uid]), [['acme', 'tok-1']]);
      // The last way in: no password, one link.
      const gone = await appCall('DELETE', 'account/providers', { provider: 'acme', account: 'tok-1' }, session);
      assert.equal(gone.statusCode, 400, gone.body);
      assert.equal(gone.json().status, 400);

      for (const bad of [await idp.mint({ sub: 'tok-2' }, { aud: 'other-app' }), await idp.mint({ sub: 'tok-2' }, { foreignKey: true }), await idp.mint({ sub: 'tok-2' }, { iss: 'https://evil.example' }), 'not.a.jwt']) {
        const x = await appCall('POST', 'auth/provider/token', { provider: 'acme', process: 'login', token: { client_id: 'latchkey', id_token: bad } });
        assert.equal(x.statusCode, 400, x.body);
        assert.equal(x.json().status, 400);
      }
      const other = await appCall('POST', 'auth/provider/token', { provider: 'acme', process: 'login', token: { client_id: 'someone-else', id_token: idToken } });
      assert.equal(other.statusCode, 400);
      assert.equal((await appCall('POST', 'auth/provider/token', { provider: 'nope', process: 'login', token: { client_id: 'latchkey', id_token: idToken } })).statusCode, 404);
      assert.equal((await app.t.store.db.selectFrom('social_accounts').selectAll().where('uid', '=', 'tok-2').execute()).length, 0);
    });

    it('a second factor enrolled here: the provider token leaves the sign-in pending at mfa_authenticate', async () => {
      const tenant = await app.t.core.tenants.resolve(undefined);
      const hal = await app.t.createUser({ username: 'hal', email: 'hal@people.example' });
      await app.t.store.db.updateTable('users').set({ email_verified: 1 as any }).where('pk', '=', hal.pk).execute();
      const secret = (await app.t.core.secondFactors.totpSetup(tenant, hal)).secret;
      noteSecret(secret);
      await app.t.core.secondFactors.totpActivate(tenant, hal, await pyotpCode(secret, Date.now()));
      const idToken = await idp.mint({ sub: 'hal-up', email: 'hal@people.example', email_verified: true });
      const r = await appCall('POST', 'auth/provider/token', { provider: 'acme', process: 'login', token: { client_id: 'latchkey', id_token: idToken } });
      assert.equal(r.statusCode, 401, r.body);
      assert.ok(r.json().data.flows.some((f: any) => f.id === 'mfa_authenticate' && f.is_pending), r.body);
      assert.ok(r.json().meta.session_token.startsWith('flow:'));
      assert.equal(r.json().meta.is_authenticated, false);
    });

    it('auth/provider/signup is never pending: 409', async () => {
      assert.equal((await appCall('GET', 'auth/provider/signup')).statusCode, 409);
    });

    it('the browser redirect flow lands on callback_url signed in; an open redirect is refused; a failure comes back with ?error=', async () => {
      const browser = new Browser();
      const host = new URL(app.base).hostname;
      const csrf = { cookie: 'csrftoken=abcdefabcdefabcdefabcdefabcdef12', 'x-csrftoken': 'abcdefabcdefabcdefabcdefabcdef12', origin: app.base };
      idp.account = { sub: 'br-1', email: 'browser@people.example', email_verified: true };
      let r = await browser.request(`${app.base}/_allauth/browser/v1/auth/provider/redirect`, { form: { provider: 'acme', process: 'login', callback_url: '/app/callback' }, headers: csrf });
      assert.equal(r.status, 302, r.text);
      assert.ok(r.location!.startsWith(idp.base));
      for (let i = 0; i < 5 && r.location && !r.location.startsWith(`${app.base}/app/`); i++) r = await browser.request(r.location);
      assert.equal(r.location, `${app.base}/app/callback`);
      const session = await browser.request(`${app.base}/_allauth/browser/v1/auth/session`);
      assert.equal(session.status, 200, session.text);
      assert.equal(json(session).data.user.email, 'browser@people.example');

      // Signed in now: the session's own CSRF token.
      const token = browser.cookie(host, 'csrftoken')!;
      const open = await browser.request(`${app.base}/_allauth/browser/v1/auth/provider/redirect`, { form: { provider: 'acme', process: 'login', callback_url: 'https://evil.example/cb' }, headers: { 'x-csrftoken': token, origin: app.base } });
      assert.equal(open.status, 400, open.text);
      assert.equal(json(open).errors[0].param, 'callback_url');
      // The backend callback called directly with a foreign `to` does not redirect there either.
      const direct = await app.t.request({ method: 'GET', url: '/_allauth/browser/v1/auth/provider/callback?to=https%3A%2F%2Fevil.example%2F&provider=acme&state=x&code=y' });
      assert.equal(direct.statusCode, 400);

      // A plain HTML form (no script to set a header) sends Django's csrfmiddlewaretoken field instead.
      const plain = await new Browser().request(`${app.base}/_allauth/browser/v1/auth/provider/redirect`, {
        form: { provider: 'acme', process: 'login', callback_url: '/app/callback', csrfmiddlewaretoken: 'abcdefabcdefabcdefabcdefabcdef12' },
        headers: { cookie: 'csrftoken=abcdefabcdefabcdefabcdefabcdef12', origin: app.base },
      });
      assert.equal(plain.status, 302, plain.text);
      assert.ok(plain.location!.startsWith(idp.base));
      const forged = await new Browser().request(`${app.base}/_allauth/browser/v1/auth/provider/redirect`, {
        form: { provider: 'acme', process: 'login', callback_url: '/app/callback', csrfmiddlewaretoken: 'another-token-another-token-00000' },
        headers: { cookie: 'csrftoken=abcdefabcdefabcdefabcdefabcdef12', origin: app.base },
      });
      assert.equal(forged.status, 403, 'a form token that is not the cookie\'s is refused');

      const fresh = new Browser();
      idp.spoil = { aud: 'other' };
      r = await fresh.request(`${app.base}/_allauth/browser/v1/auth/provider/redirect`, { form: { provider: 'acme', process: 'login', callback_url: '/app/callback' }, headers: csrf });
      for (let i = 0; i < 5 && r.location && !r.location.startsWith(`${app.base}/app/`); i++) r = await fresh.request(r.location);
      idp.spoil = {};
      assert.equal(r.location, `${app.base}/app/callback?error=unknown`);
      assert.equal((await fresh.request(`${app.base}/_allauth/browser/v1/auth/session`)).status, 401);
    });
  });
}
