// The provider button in a real browser (Debian's chromium through playwright-core), JavaScript
// off: a tenant's sign-in page shows it, a click goes to the upstream (panva's oidc-provider on
// `localhost`, another site than Latchkey's 127.0.0.1, so the binding cookie must survive a
// cross-site redirect as SameSite=Lax), its own forms are filled in, and the browser lands on the
// tenant's account page signed in. axe-core finds nothing serious on the sign-in page with its buttons.
// SQLite only (both engines: the other files here). Skipped when /usr/bin/chromium is missing outside CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { OPERATOR } from '../../src/core/index.ts';
import { startOidcProvider } from './support.ts';
import { pyotpCode } from '../pages/support.ts';

const skip = chromiumSkip('browser test');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SECRET = 'browser-upstream-secret-0123456789';
noteSecret(SECRET);

describe('the provider button in Chromium [sqlite]', { skip, timeout: 120_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let op: Awaited<ReturnType<typeof startOidcProvider>>;
  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startApp(sqlite, { publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    const acme = await t.core.tenants.create('acme', 'Acme Rockets');
    op = await startOidcProvider({
      clientId: 'latchkey', clientSecret: SECRET, redirectUris: [`${base}/api/auth/social/corp/callback/`, `${base}/api/auth/social/apple/callback/`], host: 'localhost',
      accounts: { wile: { email: 'wile@acme.test', email_verified: true, name: 'Wile E.' } },
    });
    await t.core.identityProviders.create(OPERATOR, acme, { id: 'corp', name: 'Corp SSO', kind: 'oidc', issuer: op.issuer, clientId: 'latchkey', clientSecret: SECRET, jit: true });
    // The Apple preset (its answer by form POST) at oidc-provider, which speaks response_mode=form_post.
    await t.core.identityProviders.create(OPERATOR, acme, { id: 'apple', kind: 'apple', issuer: op.issuer, clientId: 'latchkey', clientSecret: SECRET, jit: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await op?.close();
    await t?.close();
  });

  /** From the tenant's sign-in page: the provider's button, then wile at oidc-provider's development login and consent pages. */
  async function signInUpstream(page: Page, provider: string) {
    await page.goto(`${base}/tenants/acme/account/login/`);
    await page.getByRole('link', { name: `Sign in with ${provider}` }).click();
    await page.waitForURL((u) => u.href.startsWith(op.issuer));
    await page.locator('input[name="login"]').fill('wile');
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').click();
  }

  it('click, sign in at the upstream, land on the tenant\'s account page signed in', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signInUpstream(page, 'Corp SSO');
    await page.waitForURL(`${base}/tenants/acme/account/`);
    assert.ok((await page.content()).includes('wile'), await page.content());
    const cookies = await context.cookies(base);
    assert.ok(cookies.some((c) => c.name === 'sessionid'));
    assert.ok(!cookies.some((c) => c.name === 'lk_upstream'), 'the binding cookie is spent');
    await context.close();
  });

  it('Apple\'s answer by cross-site form POST (JavaScript on, as at Apple) still finds the SameSite=Lax binding cookie and signs in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const posts: string[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().startsWith(`${base}/api/auth/social/apple/callback/`)) posts.push(r.url()); });
    await signInUpstream(page, 'Apple');
    await page.waitForURL(`${base}/tenants/acme/account/`);
    assert.equal(posts.length, 1, 'the provider posted its answer');
    assert.ok((await page.content()).includes('wile'));
    const cookies = await context.cookies(base);
    assert.ok(cookies.some((c) => c.name === 'sessionid'));
    assert.ok(!cookies.some((c) => c.name === 'lk_upstream'), 'the binding cookie is spent');
    await context.close();
  });

  it('a second factor enrolled here: the code step is drawn where the provider sends the browser back (a Strict flow cookie would not follow one more redirect of a chain begun at another site), then signed in', async () => {
    const acme = await t.core.tenants.resolve('acme');
    const wile = (await t.store.read.users.findByUsername(acme.pk, 'wile'))!;
    const setup = await t.core.secondFactors.totpSetup(acme, wile);
    await t.core.secondFactors.totpActivate(acme, wile, await pyotpCode(setup.secret, Date.now()));
    try {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await signInUpstream(page, 'Corp SSO');
      await page.waitForURL((u) => u.pathname === '/tenants/acme/account/login/upstream/back/');
      const code = page.locator('input[name="code"]');
      assert.ok(await code.isVisible(), await page.content());
      // The next 30-second step: the one used at activation is refused as a replay.
      await code.fill(await pyotpCode(setup.secret, Date.now() + 30_000));
      await page.locator('form button[type="submit"]').first().click();
      await page.waitForURL(`${base}/tenants/acme/account/`);
      assert.ok((await context.cookies(base)).some((c) => c.name === 'sessionid'));
      await context.close();
    } finally {
      await t.core.secondFactors.totpDeactivate(acme, wile);
    }
  });

  it('axe-core finds nothing serious or critical on the sign-in page with its buttons', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/tenants/acme/account/login/`);
    await page.evaluate(AXE);
    const ids = await page.evaluate(async () => (await (globalThis as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string }> }> } }).axe.run()).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id));
    assert.deepEqual(ids, []);
    await page.close();
  });
});
