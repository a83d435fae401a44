// Passkeys on the hosted pages in a real browser: Chromium with JavaScript on and its virtual
// authenticator (CDP WebAuthn domain: ctap2, internal, resident keys, user verified). A person
// on a themed tenant adds a passkey on the Security page (ten recovery codes come with it),
// renames it, signs out, signs in with the password and the passkey as the second step, then
// with the passkey alone, and after the reauthentication window confirms a removal with the
// passkey. The paths around it: no JavaScript (the offers stay hidden, the form says why), a
// browser with no passkey (it says none was used), the same answer posted again, the passkey
// of one tenant at another's sign-in, the page in French. axe-core on every page at desktop
// and phone widths; screenshots with LATCHKEY_SCREENSHOTS=1. SQLite only; skipped when
// /usr/bin/chromium is missing outside CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, isolatedContext, launchChromium, withVirtualAuthenticator, type ContextOptions } from '../helpers/chromium.ts';
import { auditPages, type VisitedPage } from '../helpers/page-audit.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import * as oc from 'openid-client';
import { ManualClock, OPERATOR } from '../../src/core/index.ts';

const skip = chromiumSkip('passkeys on the pages');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const PW = 'pages-passkey-passphrase-1';

describe('passkeys on the hosted pages in Chromium [sqlite]', { skip, timeout: 240_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let client: { clientId: string; secret: string };
  /** The relying party's callback (a redirect's target, which the browser's routes do not see: a real server). */
  let CALLBACK: string;
  let relyingParty: http.Server;
  const clock = new ManualClock(Date.now());
  const visited: VisitedPage[] = [];

  before(async () => {
    const port = await freePort();
    // localhost: a secure context for WebAuthn over http, and PUBLIC_URL's host is the relying party id.
    base = `http://localhost:${port}`;
    t = await startApp(sqlite, { publicUrl: base, clock });
    await t.app.listen({ host: '127.0.0.1', port });
    noteSecret(PW);
    await t.createUser({ username: 'root', password: PW, isSuperuser: true, isStaff: true });
    const acme = await t.core.tenants.create('acme', 'Acme Rockets');
    const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
    await t.core.settings.set(root, acme.pk, 'accent_color', '#0b6e4f');
    const strict = await t.core.tenants.create('strict', 'Strict Corp');
    await t.core.settings.set(root, strict.pk, 'mfa_required', 'true');
    await t.createUser({ username: 'sam', password: PW, tenant: 'strict' });
    await t.createUser({ username: 'wile', password: PW, email: 'wile@acme.test', tenant: 'acme' });
    await t.createUser({ username: 'wile', password: PW, email: 'wile@default.test' });
    const rpPort = await freePort();
    CALLBACK = `http://127.0.0.1:${rpPort}/callback`;
    relyingParty = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Rocket tracker</title><p>callback</p>'));
    await new Promise<void>((r) => relyingParty.listen(rpPort, '127.0.0.1', r));
    const made = await t.core.clients.create(OPERATOR, acme, { name: 'Rocket tracker', grantTypes: ['authorization_code'], redirectUris: [CALLBACK], firstParty: true });
    client = { clientId: made.client.clientId, secret: made.secret! };
    noteSecret(client.secret);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => relyingParty?.close(r));
    await t?.close();
  });

  const newContext = (opts: ContextOptions) => isolatedContext(browser, [new URL(base).host, new URL(CALLBACK).host], opts);
  /** A page with its own virtual authenticator (no credential yet). */
  const withAuthenticator = async (opts: { locale?: string } = {}) => withVirtualAuthenticator(await newContext({ javaScriptEnabled: true, locale: opts.locale }));
  const record = async (page: Page, name: string) => {
    visited.push({ name, url: page.url(), html: await page.content() });
  };
  const h1 = (page: Page) => page.locator('h1').innerText();
  /** After a passkey button: the ceremony runs before the form posts, so wait for the page it lands on. */
  const landsOn = async (page: Page, heading: string) => {
    await page.locator('h1', { hasText: heading }).waitFor();
    return h1(page);
  };
  const signInWithPassword = async (page: Page, tenantPath = '/tenants/acme') => {
    await page.goto(`${base}${tenantPath}/account/login/`);
    await page.getByLabel('Username or e-mail address').fill('wile');
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };
  const signOut = async (page: Page) => {
    await page.goto(`${base}/tenants/acme/account/logout/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.equal(await h1(page), 'You are signed out');
  };
  const noteSession = async (context: BrowserContext) => {
    const s = (await context.cookies(base)).find((c) => c.name === 'sessionid');
    if (s) noteSecret(s.value);
    return s;
  };

  let wile: Awaited<ReturnType<typeof withAuthenticator>>;
  /** The form body of the last passkey sign-in this browser posted (to replay it). */
  let postedAnswer: string | undefined;

  it('adds a passkey on the Security page (recovery codes come with it), renames it, then signs in with password + passkey and with the passkey alone', async () => {
    wile = await withAuthenticator();
    const { page, context } = wile;
    await page.goto(`${base}/tenants/acme/account/login/`);
    const offer = page.getByRole('link', { name: 'Sign in with a passkey' });
    await offer.waitFor({ state: 'visible' });
    await record(page, 'sign-in-offer');
    // The pages' CSP allows the script of the pages' own file and nothing inline.
    const answer = await page.request.get(`${base}/tenants/acme/account/login/`);
    assert.match(answer.headers()['content-security-policy']!, /script-src 'self';/);

    await signInWithPassword(page);
    assert.equal(page.url(), `${base}/tenants/acme/account/`);
    await noteSession(context);
    await page.getByRole('link', { name: /^Security/ }).click();
    assert.match(await page.locator('main').innerText(), /You have no passkeys yet/);
    await record(page, 'security-no-passkeys');
    await page.getByRole('link', { name: 'Add a passkey' }).click();
    assert.equal(await h1(page), 'Add a passkey');
    await record(page, 'passkey-add');
    await page.getByLabel('Name of the passkey').fill('Laptop');
    await page.getByRole('button', { name: 'Create the passkey' }).click();
    assert.equal(await landsOn(page, 'Your recovery codes'), 'Your recovery codes');
    assert.match(await page.getByRole('status').innerText(), /The passkey is added/);
    const codes = (await page.locator('ol.codes code').allInnerTexts()).map((c) => c.trim());
    codes.forEach(noteSecret);
    assert.equal(codes.length, 10);
    assert.equal((await wile.credentials()).length, 1, 'the authenticator holds one credential');
    await page.getByRole('link', { name: 'I have saved my codes' }).click();
    const main = await page.locator('main').innerText();
    assert.match(main, /Laptop/);
    assert.match(main, /signs in without a password/);
    assert.match(main, /10 of 10 recovery codes left/);
    await record(page, 'security-passkey');

    await page.getByLabel('Name of “Laptop”').fill('Work laptop');
    await page.getByRole('button', { name: 'Rename' }).click();
    assert.match(await page.getByRole('status').innerText(), /renamed/);
    assert.ok(await page.getByRole('button', { name: 'Remove “Work laptop”' }).isVisible());
    // A name too long is refused with the rule, nothing renamed.
    await page.getByLabel('Name of “Work laptop”').fill('x'.repeat(100));
    await page.getByLabel('Name of “Work laptop”').evaluate((el: HTMLInputElement) => { el.removeAttribute('maxlength'); el.value = 'y'.repeat(101); });
    await page.getByRole('button', { name: 'Rename' }).click();
    assert.match(await page.getByRole('alert').innerText(), /1 to 100 characters/);
    await signOut(page);

    // Password, then the passkey instead of a code.
    await signInWithPassword(page);
    assert.equal(page.url(), `${base}/tenants/acme/account/login/code/`);
    assert.ok(!(await noteSession(context)), 'no session after the password alone');
    await record(page, 'mfa-code-passkey-offer');
    await page.getByRole('link', { name: 'Use a passkey instead' }).click();
    assert.equal(await h1(page), 'Confirm with your passkey');
    await record(page, 'mfa-passkey');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/tenants/acme/account/`);
    const session = await noteSession(context);
    const found = await t.core.credentials.session(session!.value);
    assert.deepEqual([...found!.principal.amr!].sort(), ['pwd', 'webauthn']);
    await signOut(page);

    // The passkey alone.
    await page.goto(`${base}/tenants/acme/account/login/`);
    await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
    assert.equal(await h1(page), 'Sign in with a passkey');
    await record(page, 'passkey-sign-in');
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/account/login/passkey/')) postedAnswer = r.postData() ?? undefined;
    });
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/tenants/acme/account/`);
    assert.match(await page.locator('main').innerText(), /signed in as wile/);
    const alone = await t.core.credentials.session((await noteSession(context))!.value);
    assert.deepEqual(alone!.principal.amr, ['webauthn']);
    assert.ok(postedAnswer && postedAnswer.includes('credential='), 'the form posted the browser\'s answer');
  });

  it('an OpenID client signs in through the interaction with the passkey alone (amr hwk+user, acr 2fa), and with the password and the passkey as the second step', async () => {
    const { page, context } = wile;
    await signOut(page);
    const config = await oc.discovery(new URL(`${base}/tenants/acme`), client.clientId, undefined, oc.ClientSecretBasic(client.secret), { execute: [oc.allowInsecureRequests] });
    const signInThrough = async (how: 'passkey' | 'password') => {
      const verifier = oc.randomPKCECodeVerifier();
      const state = oc.randomState();
      const start = oc.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope: 'openid', state, prompt: 'login', code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
      await page.goto(start.href);
      assert.equal(await h1(page), 'Sign in');
      if (how === 'passkey') {
        await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
        assert.equal(await h1(page), 'Sign in with a passkey');
        await record(page, 'oidc-passkey');
      } else {
        await page.getByLabel('Username or e-mail address').fill('wile');
        await page.getByLabel('Password').fill(PW);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        assert.equal(await h1(page), 'Enter your code');
        await page.getByRole('link', { name: 'Use a passkey instead' }).click();
        assert.equal(await h1(page), 'Confirm with your passkey');
        await record(page, 'oidc-mfa-passkey');
      }
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await page.waitForURL(`${CALLBACK}**`);
      const tokens = await oc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
      noteSecret(tokens.access_token);
      noteSecret(tokens.id_token);
      return tokens.claims()!;
    };
    const alone = await signInThrough('passkey');
    assert.deepEqual([...(alone.amr as string[])].sort(), ['hwk', 'mfa', 'user']);
    assert.equal(alone.acr, 'urn:latchkey:acr:2fa');
    const two = await signInThrough('password');
    assert.deepEqual([...(two.amr as string[])].sort(), ['hwk', 'mfa', 'pwd', 'user']);
    assert.equal(two.acr, 'urn:latchkey:acr:2fa');
    assert.equal(alone.sub, two.sub, 'one account either way');
  });

  it('the same answer posted again is refused, and the passkey of one tenant does not sign in at another', async () => {
    const { page, context } = wile;
    await signOut(page);
    const form = new URLSearchParams(postedAnswer!);
    const replay = await context.request.post(`${base}/tenants/acme/account/login/passkey/`, { form: Object.fromEntries(form), maxRedirects: 0 });
    assert.equal(replay.status(), 400);
    assert.match(await replay.text(), /That passkey was not accepted/);
    assert.ok(!(await noteSession(context)), 'no session from a replayed answer');

    // The default tenant's sign-in on the same host: the browser offers acme's passkey, the server refuses it.
    await page.goto(`${base}/account/login/passkey/`);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    assert.equal(await h1(page), 'Sign in with a passkey');
    assert.ok(!(await noteSession(context)), 'no session at another tenant');
    await record(page, 'passkey-refused');
  });

  it('after the reauthentication window, removing the passkey asks to confirm, and the passkey confirms it', async () => {
    const { page } = wile;
    await page.goto(`${base}/tenants/acme/account/login/passkey/`);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/tenants/acme/account/`);
    await noteSession(wile.context);
    clock.advance(301_000);
    await page.goto(`${base}/tenants/acme/account/security/`);
    await page.getByRole('button', { name: 'Remove “Work laptop”' }).click();
    assert.equal(await h1(page), 'Confirm it is you');
    await record(page, 'reauthenticate-passkey-offer');
    await page.getByRole('link', { name: 'Confirm with a passkey' }).click();
    assert.equal(await h1(page), 'Confirm it is you');
    await record(page, 'reauthenticate-passkey');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${base}/tenants/acme/account/security/`);
    await page.getByRole('button', { name: 'Remove “Work laptop”' }).click();
    assert.match(await page.getByRole('status').innerText(), /The passkey is removed/);
    assert.match(await page.locator('main').innerText(), /You have no passkeys yet/);
    await record(page, 'security-removed');
    // Gone from the account: the passkey no longer signs in.
    await signOut(page);
    await page.goto(`${base}/tenants/acme/account/login/passkey/`);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    assert.ok(!(await noteSession(wile.context)));
    await wile.context.close();
  });

  it('a browser with no passkey says none was used; without JavaScript the offers stay hidden and the form says why; in French', async () => {
    const empty = await withAuthenticator();
    try {
      await empty.page.goto(`${base}/tenants/acme/account/login/passkey/`);
      await empty.page.getByRole('button', { name: 'Use a passkey' }).click();
      await empty.page.getByRole('alert').filter({ hasText: 'No passkey was used' }).waitFor({ timeout: 90_000 });
      await record(empty.page, 'passkey-none-used');
    } finally {
      await empty.context.close();
    }

    const plain = await newContext({ javaScriptEnabled: false });
    try {
      const page = await plain.newPage();
      await page.goto(`${base}/tenants/acme/account/login/`);
      assert.equal(await page.getByRole('link', { name: 'Sign in with a passkey' }).count(), 0, 'no passkey offer without a script to use it');
      await page.goto(`${base}/tenants/acme/account/login/passkey/`);
      assert.match(await page.locator('main').innerText(), /Passkeys need JavaScript/);
      assert.equal(await page.getByRole('button', { name: 'Use a passkey' }).count(), 0, 'no button that cannot work');
      assert.ok(await page.getByRole('link', { name: 'Sign in with a password instead' }).isVisible());
      await record(page, 'passkey-no-script');
    } finally {
      await plain.close();
    }

    const french = await withAuthenticator({ locale: 'fr-FR' });
    try {
      await french.page.goto(`${base}/tenants/acme/account/login/`);
      await french.page.getByRole('link', { name: 'Se connecter avec une clé d’accès' }).click();
      assert.equal(await h1(french.page), 'Se connecter avec une clé d’accès');
      assert.ok(await french.page.getByRole('button', { name: 'Utiliser une clé d’accès' }).isVisible());
      await record(french.page, 'passkey-sign-in-fr');
    } finally {
      await french.context.close();
    }
  });

  it('a tenant that requires a second factor: its user adds a passkey on the Security page it is held to, and is then signed in in full', async () => {
    const sam = await withAuthenticator();
    try {
      const { page, context } = sam;
      await page.goto(`${base}/tenants/strict/account/login/`);
      await page.getByLabel('Username or e-mail address').fill('sam');
      await page.getByLabel('Password').fill(PW);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      assert.equal(page.url(), `${base}/tenants/strict/account/security/`);
      assert.match(await page.getByRole('alert').innerText(), /add a passkey below/);
      const held = await noteSession(context);
      assert.equal((await t.core.credentials.session(held!.value))!.principal.mustEnrol, true);
      await page.getByRole('link', { name: 'Add a passkey' }).click();
      await page.getByRole('button', { name: 'Create the passkey' }).click();
      assert.equal(await landsOn(page, 'Your recovery codes'), 'Your recovery codes');
      (await page.locator('ol.codes code').allInnerTexts()).forEach((c) => noteSecret(c.trim()));
      await page.goto(`${base}/tenants/strict/account/`);
      assert.equal(page.url(), `${base}/tenants/strict/account/`, 'no longer held to the Security page');
      assert.match(await page.locator('main').innerText(), /signed in as sam/);
      assert.notEqual((await t.core.credentials.session(held!.value))!.principal.mustEnrol, true);
    } finally {
      await sam.context.close();
    }
  });

  it('axe-core finds nothing serious or critical on any of these pages, at desktop and phone widths', async () => {
    assert.ok(visited.length >= 16, `${visited.length} pages visited`);
    const findings = await auditPages(newContext, visited, 'passkey');
    assert.deepEqual(findings, []);
  });
});
