// The hosted pages in a real browser. A person signs in to a non-default tenant through its
// themed pages with JavaScript off (a wrong password shows an error that does not say whether
// the account exists), forgets the password, follows the reset e-mail's link (caught by a real
// SMTP server) to a page whose URL no longer holds the token, sets a new password and signs in
// with it, then signs out. axe-core, injected into every page (the consent page included),
// must find nothing serious or critical: labels, focus order, contrast with the tenant's accent
// colour, the language. Screenshots of every page at 1280 and 390 px go to docs/screenshots/
// only with LATCHKEY_SCREENSHOTS=1, so a test run does not rewrite tracked files.
//
// Runs Debian's chromium through playwright-core, on SQLite only (the pages' behaviour on both
// engines is test/pages/pages-http.test.ts). Skipped when /usr/bin/chromium is missing on a
// developer's machine; never skipped in CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, isolatedContext, launchChromium, type ContextOptions } from '../helpers/chromium.ts';
import { auditPages, type VisitedPage } from '../helpers/page-audit.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { renderConsent } from '../../src/http/pages/index.ts';
import { translate } from '../../src/http/pages/locales/index.ts';

const skip = chromiumSkip('browser test of the hosted pages');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PW = 'browser-pages-passphrase-1';
const NEW_PW = 'browser-pages-passphrase-2';
const LOGO = 'https://logo.acme.test/logo.svg';
const ACCENT = '#7a1fa2';
const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" rx="6" fill="#7a1fa2"/><text x="60" y="26" font-family="sans-serif" font-size="18" fill="#fff" text-anchor="middle">ACME</text></svg>';

describe('hosted pages in a real browser [sqlite]', { skip, timeout: 180_000 }, () => {
  let t: TestApp;
  let smtp: SmtpSink;
  let base: string;
  let browser: Browser;
  /** Every page the flow went through, for axe and the screenshots. */
  const visited: Array<{ name: string; url: string; method: 'GET' | 'snapshot'; html?: string }> = [];

  before(async () => {
    smtp = await startSmtpSink();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startApp(sqlite, { publicUrl: base, mailer: smtpMailer(smtp.url) });
    await t.app.listen({ host: '127.0.0.1', port });
    noteSecret(PW);
    noteSecret(NEW_PW);
    await t.createUser({ username: 'root', password: PW, isSuperuser: true, isStaff: true });
    const acme = await t.core.tenants.create('acme', 'Acme Rockets');
    const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
    await t.core.settings.set(root, acme.pk, 'accent_color', ACCENT);
    await t.core.settings.set(root, acme.pk, 'logo_url', LOGO);
    await t.createUser({ username: 'wile', password: PW, email: 'wile@acme.test', tenant: 'acme' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
  });

  /** A context that serves the tenant's logo and refuses every other host but the server. */
  async function newContext(opts: ContextOptions): Promise<BrowserContext> {
    const context = await isolatedContext(browser, [new URL(base).host], opts);
    // Registered last, so matched first.
    await context.route(LOGO, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG }));
    return context;
  }

  const record = async (page: Page, name: string) => {
    visited.push({ name, url: page.url(), method: 'snapshot', html: await page.content() });
  };

  it('signs in to a themed tenant with JavaScript off, resets the password from the e-mail\'s link, signs in again and out', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    try {
      const login = `${base}/tenants/acme/account/login/`;
      const first = await page.goto(login);
      assert.equal(first!.status(), 200);
      assert.equal(await page.title(), 'Sign in – Acme Rockets');
      assert.equal(await page.locator('header.brand img').getAttribute('src'), LOGO);
      assert.equal(await page.locator('header.brand img').evaluate((img: HTMLImageElement) => img.naturalWidth), 120, 'the logo loaded');
      assert.equal(await page.getByRole('button', { name: 'Sign in' }).evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(122, 31, 162)', 'the accent colour');
      await record(page, 'sign-in');

      await page.getByLabel('Username or e-mail address').fill('wile');
      await page.getByLabel('Password').fill('not-the-password-1');
      const [wrong] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
      assert.equal(wrong.status(), 401);
      const alert = await page.getByRole('alert').innerText();
      assert.equal(alert, 'The username, e-mail address or password is not right.');
      assert.equal(await page.getByLabel('Username or e-mail address').inputValue(), 'wile', 'the name is kept');
      await record(page, 'sign-in-error');
      await page.getByLabel('Username or e-mail address').fill('nobody-at-all');
      await page.getByLabel('Password').fill('not-the-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.equal(await page.getByRole('alert').innerText(), alert, 'an unknown account reads the same');

      await page.getByLabel('Username or e-mail address').fill('wile@acme.test');
      await page.getByLabel('Password').fill(PW);
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.equal(page.url(), `${base}/tenants/acme/account/`);
      assert.match(await page.locator('main').innerText(), /signed in as wile/);
      const cookies = await context.cookies(base);
      assert.ok(cookies.some((c) => c.name === 'sessionid' && c.httpOnly), 'the session cookie');
      noteSecret(cookies.find((c) => c.name === 'sessionid')!.value);
      await record(page, 'signed-in');

      await page.getByRole('link', { name: 'Sign out' }).click();
      await record(page, 'sign-out');
      await page.getByRole('button', { name: 'Sign out' }).click();
      assert.equal(await page.locator('h1').innerText(), 'You are signed out');
      await record(page, 'signed-out');

      // Forgotten: the reset e-mail's link, followed as a mail reader would.
      await page.goto(login);
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await record(page, 'forgot-password');
      await page.getByLabel('E-mail address').fill('wile@acme.test');
      await page.getByRole('button', { name: 'Send the link' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Check your e-mail');
      await record(page, 'forgot-password-sent');
      const message = await smtp.next('wile@acme.test');
      const link = message.text.match(/(http:\/\/127\.0\.0\.1:\d+\/tenants\/acme\/account\/reset-password\/\?uid=[^\s"<]+)/)?.[1];
      assert.ok(link, 'the message has the reset link');
      const token = new URL(link).searchParams.get('token')!;
      noteSecret(token);
      const landed = await page.goto(link);
      assert.equal(landed!.status(), 200);
      assert.equal(page.url(), `${base}/tenants/acme/account/reset-password/`, 'the tenant\'s own page, at a URL without the token');
      assert.ok(!(await page.content()).includes(token), 'nor is the token in the page');
      await record(page, 'reset-password');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PW);
      await page.getByLabel('The new password again').fill('something-else-entirely');
      await page.getByRole('button', { name: 'Set the new password' }).click();
      assert.ok((await page.getByRole('alert').innerText()).length > 0, 'a mismatch is explained');
      await record(page, 'reset-password-error');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PW);
      await page.getByLabel('The new password again').fill(NEW_PW);
      await page.getByRole('button', { name: 'Set the new password' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Your password has been changed');
      await record(page, 'reset-password-done');

      await page.goto(login);
      await page.getByLabel('Username or e-mail address').fill('wile');
      await page.getByLabel('Password').fill(NEW_PW);
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.equal(page.url(), `${base}/tenants/acme/account/`, 'the new password signs in');

      const outside = requests.filter((r) => !r.startsWith(base) && r !== LOGO);
      assert.deepEqual(outside, [], 'nothing but the server and the tenant\'s logo was asked for');
    } finally {
      await context.close();
    }
  });

  it('the other pages: sign up, the e-mail links\' failures, an unknown tenant, and consent (drawn as the OpenID provider draws it)', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(`${base}/tenants/acme/account/signup/`);
      await record(page, 'sign-up');
      await page.getByLabel('Username').fill('road');
      await page.getByLabel('Password', { exact: true }).fill('short');
      await page.getByLabel('Password again').fill('short');
      await page.getByRole('button', { name: 'Create the account' }).click();
      assert.equal(await page.locator('input[aria-invalid=true]').count() + await page.getByRole('alert').count() > 0, true);
      await record(page, 'sign-up-error');
      await page.goto(`${base}/tenants/acme/account/verify-email/?key=used-or-wrong`);
      assert.equal(await page.locator('h1').innerText(), 'This link did not work');
      await record(page, 'email-link-failed');
      await page.goto(`${base}/tenants/nowhere/account/login/`);
      await record(page, 'error-unknown-tenant');
    } finally {
      await context.close();
    }
    const french = await newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
    try {
      const page = await french.newPage();
      await page.goto(`${base}/tenants/acme/account/login/`);
      assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
      assert.equal(await page.locator('h1').innerText(), 'Connexion');
      await record(page, 'sign-in-fr');
    } finally {
      await french.close();
    }
    // The consent page has no route of its own here (the OpenID provider serves it): drawn by
    // its renderer and served at a path of the server, so its stylesheet comes from there.
    const acme = await t.core.tenants.resolve('acme');
    const ctx = {
      tenant: acme, locale: 'en' as const, csrfToken: 'x'.repeat(43), prefix: '/tenants/acme',
      theme: { displayName: acme.displayName, logoUrl: LOGO, accent: ACCENT }, t: (k: Parameters<typeof translate>[1], v?: Record<string, string | number>) => translate('en', k, v),
    };
    visited.push({ name: 'consent', url: `${base}/tenants/acme/account/consent-preview`, method: 'snapshot', html: renderConsent(ctx, { action: '/x', clientName: 'Road Runner Tracker', scopes: ['openid', 'profile', 'email', 'offline_access'] }) });
  });

  it('axe-core finds nothing serious or critical on any page, at desktop and phone widths', async () => {
    assert.ok(visited.length >= 15, `${visited.length} pages visited`);
    const findings = await auditPages(newContext, visited as VisitedPage[], 'page');
    assert.deepEqual(findings, []);
  });

  it('axe-core is not blind: a page with an unlabelled field and grey-on-white text is found serious', async () => {
    const context = await newContext({ javaScriptEnabled: true });
    const page = await context.newPage();
    try {
      const url = `${base}/tenants/acme/account/broken-preview`;
      await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html lang="en"><head><title>x</title></head><body><main><h1>x</h1><p style="color:#bbb">faint</p><input name="q"></main></body></html>' }));
      await page.goto(url);
      await page.evaluate(AXE);
      const ids = await page.evaluate(async () => (await (globalThis as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string }> }> } }).axe.run()).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id));
      assert.ok(ids.includes('label'), ids.join(','));
      assert.ok(ids.includes('color-contrast'), ids.join(','));
    } finally {
      await context.close();
    }
  });
});
