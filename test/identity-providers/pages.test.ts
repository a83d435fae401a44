// The hosted sign-in page offers one button per enabled upstream provider (in English and
// French); the button signs in upstream and lands on the account page with the pages' session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { formOf, oidcApp, type OidcApp } from '../oidc/support.ts';
import { pyotpCode } from '../pages/support.ts';
import { ManualClock } from '../../src/core/index.ts';
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
      assert.ok(en.body.includes('href="/account/login/upstream/acme/"'), en.body);
      const fr = await app.t.request({ method: 'GET', url: '/account/login/', headers: { 'accept-language': 'fr' } });
      assert.ok(fr.body.includes('Se connecter avec Acme &lt;SSO&gt;'));
    });

    it('the button signs in upstream and lands on the account page, signed in', async () => {
      idp.account = { sub: 'page-1', email: 'paige@people.example', email_verified: true, name: 'Paige' };
      const browser = new Browser();
      const page = await browser.request(`${app.base}/account/login/?next=/account/`);
      const href = /href="(\/account\/login\/upstream\/acme\/[^"]*)"/.exec(page.text)![1]!.replace(/&amp;/g, '&');
      const r = await browse(browser, `${app.base}${href}`, { stop: (u) => u === `${app.base}/account/` });
      assert.equal(r.location, `${app.base}/account/`);
      const account = await browser.request(r.location!);
      assert.equal(account.status, 200, account.text.slice(0, 300));
      assert.ok(account.text.includes('paige'), account.text.slice(0, 500));
    });
  });
}

for (const { engine, skip } of engines) {
  describe(`the provider button with a second factor enrolled here (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let idp: StandIn;
    let secret: string;
    const clock = new ManualClock(Date.now());
    before(async () => {
      app = await oidcApp(engine, { clock });
      idp = await startStandIn({ clientId: 'latchkey', clientSecret: SECRET });
      const r = await app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { id: 'acme', name: 'Acme', kind: 'oidc', issuer: idp.base, client_id: 'latchkey', client_secret: SECRET, jit: true } });
      assert.equal(r.statusCode, 201, r.body);
      const tenant = await app.t.core.tenants.resolve(undefined);
      const tess = await app.t.createUser({ username: 'tess', email: 'tess@people.example' });
      await app.t.store.db.updateTable('users').set({ email_verified: 1 as any }).where('pk', '=', tess.pk).execute();
      secret = (await app.t.core.secondFactors.totpSetup(tenant, tess)).secret;
      noteSecret(secret);
      await app.t.core.secondFactors.totpActivate(tenant, tess, await pyotpCode(secret, clock.now()));
    });
    after(async () => {
      await idp?.close();
      await app?.close();
    });

    it('the upstream proves the first factor only: the code step follows, then the account page', async () => {
      idp.account = { sub: 'tess-up', email: 'tess@people.example', email_verified: true };
      const browser = new Browser();
      const r = await browse(browser, `${app.base}/account/login/upstream/acme/`, { stop: (u) => u.startsWith(`${app.base}/account/login/upstream/back/`) || u === `${app.base}/account/` });
      assert.ok(r.location?.startsWith(`${app.base}/account/login/upstream/back/`), `back from the provider, not ${r.location}`);
      // The code step is drawn right there (not one more redirect, which a Strict flow cookie would not follow).
      const page = await browser.request(r.location!);
      assert.equal(page.status, 200, page.text.slice(0, 300));
      assert.match(page.text, /name="code"/);
      assert.equal(formOf(page).action, `${app.base}/account/login/code/`);
      assert.equal((await browser.request(`${app.base}/api/auth/user/`)).status, 401, 'no session before the code');
      clock.advance(30_000);
      const form = formOf(page);
      const done = await browser.request(form.action, { form: { ...form.fields, code: await pyotpCode(secret, clock.now()) } });
      assert.equal(done.status, 303, done.text.slice(0, 300));
      assert.equal(JSON.parse((await browser.request(`${app.base}/api/auth/user/`)).text).username, 'tess');
    });
  });
}
