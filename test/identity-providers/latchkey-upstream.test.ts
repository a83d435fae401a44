// A second Latchkey as the upstream of the first: the first signs its users in through the
// second's OpenID provider (discovery, its sign-in page, the code flow with PKCE, an ES256 ID
// token checked against its JWKS), as a company's Latchkey would for another's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { oidcApp, PASSWORD, type OidcApp } from '../oidc/support.ts';
import { Browser, browse } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`Latchkey signing in through another Latchkey (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let upstream: OidcApp;
    before(async () => {
      app = await oidcApp(engine);
      upstream = await oidcApp(engine);
      const erin = await upstream.t.createUser({ username: 'erin', password: PASSWORD, email: 'erin@upstream.example' });
      await upstream.t.store.db.updateTable('users').set({ email_verified: 1 as any }).where('pk', '=', erin.pk).execute();
    });
    after(async () => {
      await app?.close();
      await upstream?.close();
    });

    it('the login URL goes through the upstream Latchkey\'s sign-in page and ends in a session here', async () => {
      const client = await upstream.client({ redirect_uris: [`${app.base}/api/auth/social/partner/callback/`], first_party: true, grant_types: ['authorization_code'] });
      const made = await app.t.request({
        method: 'POST', url: '/api/identity-providers/', headers: app.admin,
        payload: { id: 'partner', name: 'Partner', kind: 'oidc', issuer: upstream.issuer(), client_id: client.client_id, client_secret: client.client_secret, jit: true },
      });
      assert.equal(made.statusCode, 201, made.body);
      const browser = new Browser();
      const r = await browse(browser, `${app.base}/api/auth/social/partner/login/?next=/home`, { login: 'erin', password: PASSWORD, stop: (u) => u.startsWith(`${app.base}/api/auth/social/partner/callback/`) });
      assert.ok(r.location, `${r.status} ${r.text.slice(0, 400)}`);
      const done = await browser.request(r.location);
      assert.equal(done.status, 302, done.text);
      assert.equal(done.location, `${app.base}/home`);
      const me = JSON.parse((await browser.request(`${app.base}/api/auth/user/`)).text);
      assert.equal(me.email, 'erin@upstream.example');
      const upstreamErin = (await upstream.t.store.read.users.findOneByEmail((await upstream.t.core.tenants.resolve(undefined)).pk, 'erin@upstream.example'))!;
      const social = JSON.parse((await browser.request(`${app.base}/api/auth/social/`)).text);
      assert.deepEqual(social.results.map((s: any) => [s.provider, s.uid]), [['partner', upstreamErin.id]], 'the upstream\'s sub (its user UUID) is the uid');
    });

    it('a wrong password at the upstream never reaches the callback', async () => {
      const browser = new Browser();
      const r = await browse(browser, `${app.base}/api/auth/social/partner/login/`, { login: 'erin', password: 'wrong-password-123', stop: (u) => u.startsWith(`${app.base}/api/auth/social/partner/callback/`) });
      assert.ok(!r.location?.startsWith(app.base), 'still at the upstream');
      assert.equal((await browser.request(`${app.base}/api/auth/user/`)).status, 401);
    });
  });
}
