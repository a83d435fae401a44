// Signing up with a passkey alone on the hosted pages in a real browser: Chromium with JavaScript
// on and its virtual authenticator (CDP WebAuthn domain: ctap2, internal, resident keys, user
// verified). A person on a themed tenant opens the sign-up page, takes its "Sign up with a
// passkey instead", gives a username and an address, creates the passkey, lands signed in (the
// session proved `webauthn`, the account has no password), signs out and signs in again with the
// passkey alone. The paths around it: a username already taken (the field marked), JavaScript
// off (no offer; the page says why), the pages in French. axe-core on every page at desktop and
// phone widths; screenshots with LATCHKEY_SCREENSHOTS=1 (docs/screenshots/passkey-signup-*).
// SQLite only; skipped when /usr/bin/chromium is missing outside CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, isolatedContext, launchChromium, withVirtualAuthenticator, type ContextOptions } from '../helpers/chromium.ts';
import { auditPages, type VisitedPage } from '../helpers/page-audit.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';

const skip = chromiumSkip('sign-up by passkey on the pages');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;

describe('sign-up by passkey on the hosted pages in Chromium [sqlite]', { skip, timeout: 240_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  const visited: VisitedPage[] = [];

  before(async () => {
    const port = await freePort();
    // localhost: a secure context for WebAuthn over http, and PUBLIC_URL's host is the relying party id.
    base = `http://localhost:${port}`;
    t = await startApp(sqlite, { publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    const acme = await t.core.tenants.create('acme', 'Acme Rockets');
    await t.store.transaction((r) => r.settings.put(acme.pk, 'accent_color', '#0b6e4f', Date.now()));
    t.core.settings.invalidate(acme.pk);
    await t.createUser({ username: 'wile', password: 'pages-passkey-signup-passphrase-1', email: 'wile@acme.test', tenant: 'acme' });
    noteSecret('pages-passkey-signup-passphrase-1');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const newContext = (opts: ContextOptions) => isolatedContext(browser, [new URL(base).host], opts);
  /** A page with its own virtual authenticator (no credential yet). */
  const withAuthenticator = async (opts: { locale?: string } = {}) => withVirtualAuthenticator(await newContext({ javaScriptEnabled: true, locale: opts.locale }));
  const record = async (page: Page, name: string) => {
    visited.push({ name, url: page.url(), html: await page.content() });
  };
  const h1 = (page: Page) => page.locator('h1').innerText();
  const session = async (context: BrowserContext) => {
    const s = (await context.cookies(base)).find((c) => c.name === 'sessionid');
    if (s) noteSecret(s.value);
    return s && (await t.core.credentials.session(s.value));
  };
  const user = async (username: string) => t.store.read.users.findByUsername((await t.core.tenants.resolve('acme')).pk, username);

  it('signs up with a passkey from the sign-up page, lands signed in with no password, signs out and signs in again with the passkey alone', async () => {
    const { context, page, credentials } = await withAuthenticator();
    try {
      await page.goto(`${base}/tenants/acme/account/signup/`);
      const offer = page.getByRole('link', { name: 'Sign up with a passkey instead' });
      await offer.waitFor({ state: 'visible' });
      await record(page, 'sign-up-offer');
      await offer.click();
      assert.equal(await h1(page), 'Sign up with a passkey');
      await record(page, 'sign-up');

      // A username taken: the field says so, the address stays.
      await page.getByLabel('Username', { exact: true }).fill('wile');
      await page.getByLabel('E-mail address', { exact: true }).fill('coyote@acme.test');
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(await h1(page), 'Sign up with a passkey');
      assert.equal(await page.getByLabel('Username', { exact: true }).getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByLabel('E-mail address', { exact: true }).inputValue(), 'coyote@acme.test');
      await record(page, 'sign-up-error');

      await page.getByLabel('Username', { exact: true }).fill('coyote');
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(page.url(), `${base}/tenants/acme/account/signup/passkey/create/`);
      assert.equal(await h1(page), 'Create your passkey');
      assert.equal(await user('coyote'), undefined, 'no account before the passkey');
      await record(page, 'sign-up-create');
      await page.getByLabel('Name of the passkey').fill('Laptop');
      await page.getByRole('button', { name: 'Create the passkey' }).click();
      await page.waitForURL(`${base}/tenants/acme/account/`);
      assert.match(await page.locator('main').innerText(), /signed in as coyote/);
      await record(page, 'signed-in');
      const first = await session(context);
      assert.deepEqual(first?.principal.amr, ['webauthn']);
      const made = (await user('coyote'))!;
      assert.equal(made.passwordHash, null, 'no password');
      const held = await credentials();
      assert.equal(held.length, 1);
      assert.equal(held[0].isResidentCredential, true);
      assert.deepEqual((await t.store.read.authenticators.forUser(made.pk)).map((a) => [a.type, a.name]), [['webauthn', 'Laptop']]);

      await page.goto(`${base}/tenants/acme/account/logout/`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      assert.equal(await h1(page), 'You are signed out');
      assert.equal(await session(context), undefined);

      await page.goto(`${base}/tenants/acme/account/login/`);
      await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await page.waitForURL(`${base}/tenants/acme/account/`);
      assert.match(await page.locator('main').innerText(), /signed in as coyote/);
      const again = await session(context);
      assert.equal(again?.principal.user.pk, made.pk, 'the same account');
      assert.deepEqual(again?.principal.amr, ['webauthn']);
    } finally {
      await context.close();
    }
  });

  it('without JavaScript the offer stays hidden and the passkey page says why; in French', async () => {
    const plain = await newContext({ javaScriptEnabled: false });
    try {
      const page = await plain.newPage();
      await page.goto(`${base}/tenants/acme/account/signup/`);
      assert.equal(await page.getByRole('link', { name: 'Sign up with a passkey instead' }).count(), 0, 'no offer without a script to use it');
      await page.goto(`${base}/tenants/acme/account/signup/passkey/`);
      assert.match(await page.locator('main').innerText(), /Passkeys need JavaScript/);
      assert.ok(await page.getByRole('link', { name: 'Sign up with a password instead' }).isVisible());
      await record(page, 'sign-up-no-script');
    } finally {
      await plain.close();
    }

    const french = await withAuthenticator({ locale: 'fr-FR' });
    try {
      const { page, context } = french;
      await page.goto(`${base}/tenants/acme/account/signup/`);
      await page.getByRole('link', { name: 'S’inscrire plutôt avec une clé d’accès' }).click();
      assert.equal(await h1(page), 'S’inscrire avec une clé d’accès');
      await record(page, 'sign-up-fr');
      await page.getByLabel('Nom d’utilisateur', { exact: true }).fill('bip');
      await page.getByLabel('Adresse e-mail', { exact: true }).fill('bip@acme.test');
      await page.getByRole('button', { name: 'Continuer' }).click();
      assert.equal(await h1(page), 'Créez votre clé d’accès');
      await record(page, 'sign-up-create-fr');
      await page.getByRole('button', { name: 'Créer la clé d’accès' }).click();
      await page.waitForURL(`${base}/tenants/acme/account/`);
      assert.match(await page.locator('main').innerText(), /connecté en tant que bip/);
      assert.deepEqual((await session(context))?.principal.amr, ['webauthn']);
    } finally {
      await french.context.close();
    }
  });

  it('axe-core finds nothing serious or critical on any of these pages, at desktop and phone widths', async () => {
    assert.ok(visited.length >= 8, `${visited.length} pages visited`);
    const findings = await auditPages(newContext, visited, 'passkey-signup');
    assert.deepEqual(findings, []);
  });
});
