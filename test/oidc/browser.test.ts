// Signing in to an application through the OpenID provider, in a real browser with JavaScript
// off: a test app (its own origin) sends the person to a non-default tenant's issuer, whose
// themed sign-in page refuses a wrong password in words that do not say whether the account
// exists, then asks for consent (a third-party client), and lands on the app's callback with a
// code the app redeems. RP-initiated logout's pages, an unregistered redirect URI's error page and
// the French sign-in follow. axe-core finds nothing serious or critical on any of these pages at
// desktop and phone widths; screenshots go to docs/screenshots/ only with LATCHKEY_SCREENSHOTS=1.
//
// Debian's chromium through playwright-core, on SQLite; skipped when /usr/bin/chromium is missing
// on a developer's machine, never in CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import * as oc from 'openid-client';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, isolatedContext, launchChromium, type ContextOptions } from '../helpers/chromium.ts';
import { auditPages, type VisitedPage } from '../helpers/page-audit.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { OPERATOR } from '../../src/core/index.ts';

const skip = chromiumSkip('browser test of the OpenID sign-in');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const PW = 'browser-oidc-passphrase-1';
const LOGO = 'https://logo.acme.test/logo.svg';
const ACCENT = '#7a1fa2';
const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" rx="6" fill="#7a1fa2"/><text x="60" y="26" font-family="sans-serif" font-size="18" fill="#fff" text-anchor="middle">ACME</text></svg>';

describe('signing in to an app through the OpenID provider, in a real browser [sqlite]', { skip, timeout: 180_000 }, () => {
  let t: TestApp;
  let base: string;
  let appBase: string;
  let testApp: http.Server;
  let browser: Browser;
  let client: { clientId: string; secret: string };
  const visited: Array<{ name: string; url: string; html: string }> = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startApp(sqlite, { publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    // The relying party: a page at its callback that shows what it received.
    const appPort = await freePort();
    appBase = `http://127.0.0.1:${appPort}`;
    testApp = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', appBase);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><title>Rocket tracker</title></head><body><main><h1>Rocket tracker</h1><p id="got">${u.searchParams.has('code') ? 'code received' : 'no code'}</p></main></body></html>`);
    });
    await new Promise<void>((r) => testApp.listen(appPort, '127.0.0.1', r));
    noteSecret(PW);
    await t.createUser({ username: 'root', password: PW, isSuperuser: true, isStaff: true });
    const acme = await t.core.tenants.create('acme', 'Acme Rockets');
    const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
    await t.core.settings.set(root, acme.pk, 'accent_color', ACCENT);
    await t.core.settings.set(root, acme.pk, 'logo_url', LOGO);
    await t.createUser({ username: 'wile', password: PW, email: 'wile@acme.test', tenant: 'acme' });
    const made = await t.core.clients.create(OPERATOR, acme, { name: 'Rocket tracker', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [`${appBase}/callback`] });
    client = { clientId: made.client.clientId, secret: made.secret! };
    noteSecret(client.secret);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => testApp?.close(r));
    await t?.close();
  });

  async function newContext(opts: ContextOptions): Promise<BrowserContext> {
    const context = await isolatedContext(browser, [new URL(base).host, new URL(appBase).host], opts);
    // Registered last, so matched first.
    await context.route(LOGO, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG }));
    return context;
  }

  it('the code flow through the themed pages: a wrong password, consent, the app\'s callback with a code; then sign-out', async () => {
    const config = await oc.discovery(new URL(`${base}/tenants/acme`), client.clientId, undefined, oc.ClientSecretBasic(client.secret), { execute: [oc.allowInsecureRequests] });
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const start = oc.buildAuthorizationUrl(config, { redirect_uri: `${appBase}/callback`, scope: 'openid profile email', state, code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const record = async (name: string) => visited.push({ name, url: page.url(), html: await page.content() });
    try {
      await page.goto(start.href);
      assert.equal(await page.title(), 'Sign in – Acme Rockets');
      assert.equal(await page.locator('header.brand img').getAttribute('src'), LOGO);
      assert.equal(await page.getByRole('button', { name: 'Sign in' }).evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(122, 31, 162)', 'the tenant\'s accent colour');
      await record('sign-in');

      await page.getByLabel('Username or e-mail address').fill('wile');
      await page.getByLabel('Password').fill('not-the-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = await page.getByRole('alert').innerText();
      assert.match(alert, /not right/);
      await record('sign-in-error');
      await page.getByLabel('Username or e-mail address').fill('nobody-at-all');
      await page.getByLabel('Password').fill('not-the-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.equal(await page.getByRole('alert').innerText(), alert, 'an unknown account reads the same');

      await page.getByLabel('Username or e-mail address').fill('wile@acme.test');
      await page.getByLabel('Password').fill(PW);
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Allow access?');
      assert.match(await page.locator('main').innerText(), /Rocket tracker asks to use your Acme Rockets account/);
      await record('consent');
      await page.getByRole('button', { name: 'Allow' }).click();

      const landed = new URL(page.url());
      assert.equal(`${landed.origin}${landed.pathname}`, `${appBase}/callback`);
      assert.equal(landed.searchParams.get('state'), state);
      assert.equal(await page.locator('#got').innerText(), 'code received');
      const tokens = await oc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier, expectedState: state });
      noteSecret(tokens.access_token);
      noteSecret(tokens.id_token);
      assert.equal(tokens.claims()!.iss, `${base}/tenants/acme`);
      assert.equal(tokens.claims()!.email, 'wile@acme.test');
      assert.equal(decodeJwt(tokens.access_token).tenant, 'acme');

      // RP-initiated logout: the question, then (no return address) the signed-out page.
      await page.goto(oc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href);
      assert.equal(await page.title(), 'Sign out – Acme Rockets');
      await record('logout');
      await page.getByRole('button', { name: 'Sign out' }).click();
      assert.equal(await page.locator('h1').innerText(), 'You are signed out');
      await record('signed-out');

      // An unregistered redirect URI: an error page on the issuer, never a redirect.
      const bad = new URL(start.href);
      bad.searchParams.set('redirect_uri', 'https://evil.example/cb');
      const r = await page.goto(bad.href);
      assert.equal(r!.status(), 400);
      assert.equal(new URL(page.url()).origin, base);
      assert.equal(await page.locator('h1').innerText(), 'Unknown return address');
      await record('error-redirect-uri');

      // ui_locales: the French sign-in page.
      const fr = new URL(start.href);
      fr.searchParams.set('ui_locales', 'fr');
      await page.goto(fr.href);
      assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
      assert.equal(await page.locator('h1').innerText(), 'Connexion');
      await record('sign-in-fr');
    } finally {
      await context.close();
    }
  });

  it('axe-core finds nothing serious or critical on these pages, at desktop and phone widths', async () => {
    assert.equal(visited.length, 7);
    const findings = await auditPages(newContext, visited as VisitedPage[], 'oidc');
    assert.deepEqual(findings, []);
  });
});
