// The hosted sign-in page offers one button per enabled upstream provider (in English and
// French); the button signs in upstream and lands on the account page with the pages' session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { oidcApp, type OidcApp } from '../oidc/support.ts';
import { Browser, browse, startStandIn, type StandIn } from './support.ts';

const SECRET = 'pages-stand-in-secret-0123456789';
noteSecret(SECRET);

for (const { engine, skip } of engines) {
  describe(`the sign-in page's provider buttons (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let idp: StandIn;
    before(async () => {
      app = await oidcApp(engine);
      idp = await startStandIn({ clientId: 'latchkey', clientSecret: SECRET });
      for (const [id, enabled] of [['acme', true], ['hidden', false]] as const) {
        const r = await app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { id, name: id === 'acme' ? 'Acme <SSO>' : 'Hidden', kind: 'oidc', issuer: idp.base, client_id: 'latchkey', client_secret: SECRET, jit: true, enabled } });
        assert.equal(r.statusCode, 201, r.body);
      }
    });
    after(async () => {
      await idp?.close();
      await app?.close();
    });

    it('one button per enabled provider, its name escaped, in both languages', async () => {
      const en = await app.t.request({ method: 'GET', url: '/account/login/' });
      assert.equal(en.statusCode, 200);
      assert.ok(en.body.includes('Sign in with Acme &lt;SSO&gt;'), en.body);
      assert.ok(!en.body.includes('Hidden'), 'a disabled provider has no button');
      assert.ok(en.body.includes('href="/api/auth/social/acme/login/?next=%2Faccount%2F"'));
      const fr = await app.t.request({ method: 'GET', url: '/account/login/', headers: { 'accept-language': 'fr' } });
      assert.ok(fr.body.includes('Se connecter avec Acme &lt;SSO&gt;'));
    });

    it('the button signs in upstream and lands on the account page, signed in', async () => {
      idp.account = { sub: 'page-1', email: 'paige@people.example', email_verified: true, name: 'Paige' };
      const browser = new Browser();
      const page = await browser.request(`${app.base}/account/login/?next=/account/`);
      const href = /href="(\/api\/auth\/social\/acme\/login\/[^"]*)"/.exec(page.text)![1]!.replace(/&amp;/g, '&');
      const r = await browse(browser, `${app.base}${href}`, { stop: (u) => u.startsWith(`${app.base}/account/`) });
      assert.equal(r.location, `${app.base}/account/`);
      const account = await browser.request(r.location!);
      assert.equal(account.status, 200, account.text.slice(0, 300));
      assert.ok(account.text.includes('paige'), account.text.slice(0, 500));
    });
  });
}
