// The second factor on the hosted pages in a real browser with JavaScript off: a person signs in
// to a themed tenant, opens the Security page, sets up an authenticator app with a code made by
// Debian's python3-pyotp from the key the page shows, saves the recovery codes shown once, signs
// out, signs in with the password and a code (a wrong one first), signs out, and signs in with a
// recovery code (told how many are left). A change after the reauthentication window asks the
// password first. A tenant that requires a second factor shows its user the Security page
// first. axe-core, injected into every page, must find nothing serious or critical; screenshots
// at 1280 and 390 px go to docs/screenshots/ only with LATCHKEY_SCREENSHOTS=1.
//
// Runs Debian's chromium through playwright-core, on SQLite only (both engines:
// test/pages/pages-mfa.test.ts). Skipped when /usr/bin/chromium or python3-pyotp is missing on
// a developer's machine; never skipped in CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, isolatedContext, launchChromium, type ContextOptions } from '../helpers/chromium.ts';
import { auditPages, type VisitedPage } from '../helpers/page-audit.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { pyotpCode, pyotpSkip } from '../pages/support.ts';
import { ManualClock } from '../../src/core/index.ts';

const skip = chromiumSkip('browser test of the second factor') || pyotpSkip;
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const PW = 'browser-mfa-passphrase-1';
const ACCENT = '#0b6e4f';

describe('second factor on the hosted pages in a real browser [sqlite]', { skip, timeout: 180_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  const clock = new ManualClock(Date.now());
  const visited: Array<{ name: string; url: string; html: string }> = [];

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startApp(sqlite, { publicUrl: base, clock });
    await t.app.listen({ host: '127.0.0.1', port });
    noteSecret(PW);
    await t.createUser({ username: 'root', password: PW, isSuperuser: true, isStaff: true });
    const acme = await t.core.tenants.create('acme', 'Acme Rockets');
    const strict = await t.core.tenants.create('strict', 'Strict Corp');
    const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
    await t.core.settings.set(root, acme.pk, 'accent_color', ACCENT);
    await t.core.settings.set(root, strict.pk, 'mfa_required', 'true');
    await t.createUser({ username: 'wile', password: PW, email: 'wile@acme.test', tenant: 'acme' });
    await t.createUser({ username: 'sam', password: PW, tenant: 'strict' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const newContext = (opts: ContextOptions) => isolatedContext(browser, [new URL(base).host], opts);
  const record = async (page: Page, name: string) => {
    visited.push({ name, url: page.url(), html: await page.content() });
  };
  const signInWithPassword = async (page: Page, tenant = 'acme', user = 'wile') => {
    await page.goto(`${base}/tenants/${tenant}/account/login/`);
    await page.getByLabel('Username or e-mail address').fill(user);
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  const signOut = async (page: Page) => {
    await page.goto(`${base}/tenants/acme/account/logout/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.equal(await page.locator('h1').innerText(), 'You are signed out');
  };

  it('enrols TOTP on the Security page with a pyotp code from the key shown, signs out, signs in with password + code, then with a recovery code', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await signInWithPassword(page);
      assert.equal(page.url(), `${base}/tenants/acme/account/`);
      await page.getByRole('link', { name: /^Security/ }).click();
      assert.equal(await page.locator('h1').innerText(), 'Security');
      await record(page, 'security');

      await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Set up an authenticator app');
      const qr = page.getByRole('img', { name: 'QR code to scan with an authenticator app' });
      const box = await qr.boundingBox();
      assert.ok(box && box.width >= 150 && box.height >= 150, 'the QR code is drawn large enough to scan');
      const secret = (await page.locator('code.secret').innerText()).replace(/\s+/g, '');
      noteSecret(secret);
      assert.match(secret, /^[A-Z2-7]{32}$/);
      await record(page, 'totp-setup');
      await page.getByLabel('The 6-digit code from the app').fill('000000');
      await page.getByRole('button', { name: 'Turn on' }).click();
      assert.match(await page.locator('.field-error').innerText(), /not right/);
      await record(page, 'totp-setup-error');
      await page.getByLabel('The 6-digit code from the app').fill(await pyotpCode(secret, clock.now()));
      await page.getByRole('button', { name: 'Turn on' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Your recovery codes');
      const codes = (await page.locator('ol.codes code').allInnerTexts()).map((c) => c.trim());
      codes.forEach(noteSecret);
      assert.equal(codes.length, 10);
      await record(page, 'recovery-codes');
      await page.getByRole('link', { name: 'I have saved my codes' }).click();
      assert.match(await page.locator('main').innerText(), /An authenticator app is set up/);
      assert.match(await page.locator('main').innerText(), /10 of 10 recovery codes left/);
      await record(page, 'security-enrolled');
      await signOut(page);

      // Password, then a wrong code, then the right one.
      await signInWithPassword(page);
      assert.equal(page.url(), `${base}/tenants/acme/account/login/code/`);
      assert.equal(await page.locator('h1').innerText(), 'Enter your code');
      assert.ok(!(await context.cookies(base)).some((c) => c.name === 'sessionid'), 'no session after the password alone');
      const flow = (await context.cookies()).find((c) => c.name === 'latchkey_signin');
      assert.ok(flow && flow.httpOnly && flow.sameSite === 'Strict', 'the flow token is an HttpOnly, Strict cookie');
      noteSecret(flow.value);
      await record(page, 'mfa-code');
      await page.getByLabel('Code from the app, or a recovery code').fill('123456');
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.match(await page.locator('.field-error').innerText(), /That code is not right/);
      await record(page, 'mfa-code-error');
      clock.advance(30_000);
      await page.getByLabel('Code from the app, or a recovery code').fill(await pyotpCode(secret, clock.now()));
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(page.url(), `${base}/tenants/acme/account/`);
      assert.match(await page.locator('main').innerText(), /signed in as wile/);
      noteSecret((await context.cookies(base)).find((c) => c.name === 'sessionid')!.value);
      await signOut(page);

      // A recovery code, typed as people copy them (upper case).
      await signInWithPassword(page);
      await page.getByLabel('Code from the app, or a recovery code').fill(codes[3]!.toUpperCase());
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(await page.locator('h1').innerText(), 'You are signed in with a recovery code');
      assert.match(await page.getByRole('status').innerText(), /You have 9 recovery codes left/);
      await record(page, 'mfa-recovery-used');
      await page.getByRole('link', { name: 'Continue' }).click();
      assert.match(await page.locator('main').innerText(), /signed in as wile/);

      // After the reauthentication window, a change asks the password first, then is made.
      clock.advance(301_000);
      await page.goto(`${base}/tenants/acme/account/security/`);
      await page.getByRole('button', { name: 'Make new recovery codes' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Confirm it is you');
      await record(page, 'reauthenticate');
      await page.getByLabel('Password').fill(PW);
      await page.getByRole('button', { name: 'Confirm with the password' }).click();
      assert.equal(page.url(), `${base}/tenants/acme/account/security/`);
      await page.getByRole('button', { name: 'Make new recovery codes' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Your recovery codes');
      (await page.locator('ol.codes code').allInnerTexts()).forEach((c) => noteSecret(c.trim()));
      await signOut(page);
    } finally {
      await context.close();
    }

    const french = await newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
    try {
      const page = await french.newPage();
      await page.goto(`${base}/tenants/acme/account/login/`);
      await page.getByLabel('Nom d’utilisateur ou adresse e-mail').fill('wile');
      await page.getByLabel('Mot de passe').fill(PW);
      await page.getByRole('button', { name: 'Se connecter' }).click();
      assert.equal(await page.locator('h1').innerText(), 'Saisissez votre code');
      await record(page, 'mfa-code-fr');
    } finally {
      await french.close();
    }
  });

  it('a tenant that requires a second factor shows its user the Security page first', async () => {
    const context = await newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await signInWithPassword(page, 'strict', 'sam');
      assert.equal(page.url(), `${base}/tenants/strict/account/security/`);
      assert.match(await page.getByRole('alert').innerText(), /requires a second factor/);
      noteSecret((await context.cookies(base)).find((c) => c.name === 'sessionid')!.value);
      await record(page, 'security-required');
      await page.goto(`${base}/tenants/strict/account/`);
      assert.equal(page.url(), `${base}/tenants/strict/account/security/`, 'nothing else until enrolled');
    } finally {
      await context.close();
    }
  });

  it('axe-core finds nothing serious or critical on any of these pages, at desktop and phone widths', async () => {
    assert.ok(visited.length >= 11, `${visited.length} pages visited`);
    const findings = await auditPages(newContext, visited as VisitedPage[], 'page');
    assert.deepEqual(findings, []);
  });
});
