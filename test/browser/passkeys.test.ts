// Passkeys through the headless browser API in a real browser: Chromium's virtual authenticator
// (CDP WebAuthn domain, ctap2, internal, resident keys, user verified) on a page the Latchkey
// instance under test serves (http://localhost:PORT, a secure context, is PUBLIC_URL), calling
// navigator.credentials.create/get with the options the API answers. Register (passwordless),
// sign in with a password and the passkey as second factor, sign in with the passkey alone,
// rename, reauthenticate, remove. Attacks: an assertion for another challenge, from another
// origin (relying party id evil.localhost), for another user, replayed, and a sign counter that goes
// back; each a 400 in the specification's error shape. Every answer is checked against the
// served OpenAPI document. SQLite only; skipped when /usr/bin/chromium is missing outside CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, launchChromium, withVirtualAuthenticator } from '../helpers/chromium.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { SchemaCheck } from '../headless/support.ts';

const skip = chromiumSkip('passkey browser test');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const PW = 'passkey-browser-passphrase-1';
const API = '/_allauth/browser/v1';

interface Answer { status: number; body: any }

describe('passkeys through the headless browser API in Chromium [sqlite]', { skip, timeout: 180_000 }, () => {
  let t: TestApp;
  let base: string;
  let port: number;
  let browser: Browser;
  let schema: SchemaCheck;

  before(async () => {
    port = await freePort();
    base = `http://localhost:${port}`;
    t = await startApp(sqlite, { publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    noteSecret(PW);
    await t.createUser({ username: 'wile', password: PW, email: 'wile@example.test' });
    await t.createUser({ username: 'road', password: PW, email: 'road@example.test' });
    schema = await SchemaCheck.of(t);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A context with its own virtual authenticator, on a page of the instance (origin `origin`). */
  async function withAuthenticator(origin = base) {
    const held = await withVirtualAuthenticator(await browser.newContext());
    await held.page.goto(`${origin}/_allauth/browser/v1/config`);
    return held;
  }

  /** A call of the browser API from the page (cookies, X-CSRFToken from the csrftoken cookie), checked against its schema. */
  async function api(page: Page, method: string, path: string, body?: unknown): Promise<Answer> {
    const a = await page.evaluate(async ({ method, url, body }) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.slice('csrftoken='.length);
      const r = await fetch(url, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(csrf ? { 'x-csrftoken': csrf } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, text: await r.text() };
    }, { method, url: `${API}${path}`, body });
    schema.check(method, `${API}${path}`, { statusCode: a.status, body: a.text, json: () => JSON.parse(a.text) } as any);
    return { status: a.status, body: JSON.parse(a.text) };
  }

  const create = (page: Page, options: unknown) => page.evaluate(async (o: any) => {
    const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o.publicKey) }) as PublicKeyCredential;
    return cred.toJSON();
  }, options);
  const get = (page: Page, options: any, change: { challenge?: string; rpId?: string; allowCredentials?: unknown[] } = {}) => page.evaluate(async (o: any) => {
    const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o) }) as PublicKeyCredential;
    return cred.toJSON();
  }, { ...options.publicKey, ...change });

  const signInWithPassword = (page: Page, username: string) => api(page, 'POST', '/auth/login', { username, password: PW });
  const registerPasskey = async (page: Page, username: string, name: string) => {
    assert.equal((await signInWithPassword(page, username)).status, 200);
    const opts = await api(page, 'GET', '/account/authenticators/webauthn?passwordless');
    assert.equal(opts.status, 200);
    assert.equal(opts.body.data.creation_options.publicKey.rp.id, 'localhost');
    assert.equal(opts.body.data.creation_options.publicKey.attestation, 'none');
    const added = await api(page, 'POST', '/account/authenticators/webauthn', { name, credential: await create(page, opts.body.data.creation_options) });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    return added.body;
  };
  const badCredential = (a: Answer) => {
    assert.equal(a.status, 400, JSON.stringify(a.body));
    assert.equal(a.body.status, 400);
    assert.ok(Array.isArray(a.body.errors) && a.body.errors.length > 0);
  };

  let wile: Awaited<ReturnType<typeof withAuthenticator>>;
  let wileCredentialId: string;

  it('registers a passkey (passwordless) after a password sign-in; recovery codes come with it', async () => {
    wile = await withAuthenticator();
    const added = await registerPasskey(wile.page, 'wile', 'Laptop');
    assert.equal(added.data.type, 'webauthn');
    assert.equal(added.data.name, 'Laptop');
    assert.equal(added.data.is_passwordless, true);
    assert.equal(added.meta.recovery_codes_generated, true);
    const { credentials } = await wile.cdp.send('WebAuthn.getCredentials', { authenticatorId: wile.authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
    // CDP names it in base64; WebAuthn's JSON (and the store) in base64url.
    wileCredentialId = Buffer.from(credentials[0].credentialId, 'base64').toString('base64url');
    const list = await api(wile.page, 'GET', '/account/authenticators');
    assert.deepEqual(list.body.data.map((a: any) => a.type).sort(), ['recovery_codes', 'webauthn']);
    assert.equal((await api(wile.page, 'DELETE', '/auth/session')).status, 401);
  });

  it('a password alone now leaves the sign-in pending; the passkey completes it as the second factor', async () => {
    const pending = await signInWithPassword(wile.page, 'wile');
    assert.equal(pending.status, 401);
    assert.ok(pending.body.data.flows.some((f: any) => f.id === 'mfa_authenticate' && f.is_pending));
    const opts = await api(wile.page, 'GET', '/auth/webauthn/authenticate');
    assert.equal(opts.status, 200);
    assert.equal(opts.body.data.request_options.publicKey.allowCredentials.length, 1);
    const done = await api(wile.page, 'POST', '/auth/webauthn/authenticate', { credential: await get(wile.page, opts.body.data.request_options) });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.ok(done.body.data.methods.some((m: any) => m.method === 'mfa' && m.type === 'webauthn'));
  });

  it('renames the passkey and reauthenticates with it', async () => {
    const list = await api(wile.page, 'GET', '/account/authenticators');
    const id = list.body.data.find((a: any) => a.type === 'webauthn').id;
    const renamed = await api(wile.page, 'PUT', '/account/authenticators/webauthn', { id, name: 'Work laptop' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.data.name, 'Work laptop');
    const opts = await api(wile.page, 'GET', '/auth/webauthn/reauthenticate');
    const again = await api(wile.page, 'POST', '/auth/webauthn/reauthenticate', { credential: await get(wile.page, opts.body.data.request_options) });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal((await api(wile.page, 'DELETE', '/auth/session')).status, 401);
  });

  let lastAssertion: unknown;
  it('signs in with the passkey alone (no user given: the discoverable credential names its user)', async () => {
    const opts = await api(wile.page, 'GET', '/auth/webauthn/login');
    assert.equal(opts.status, 200);
    assert.deepEqual(opts.body.data.request_options.publicKey.allowCredentials ?? [], []);
    lastAssertion = await get(wile.page, opts.body.data.request_options);
    const done = await api(wile.page, 'POST', '/auth/webauthn/login', { credential: lastAssertion });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.data.user.username, 'wile');
    assert.equal((await api(wile.page, 'DELETE', '/auth/session')).status, 401);
  });

  it('refuses a replayed assertion', async () => {
    badCredential(await api(wile.page, 'POST', '/auth/webauthn/login', { credential: lastAssertion }));
  });

  it('refuses an assertion for a challenge Latchkey did not give', async () => {
    const opts = await api(wile.page, 'GET', '/auth/webauthn/login');
    const forged = await get(wile.page, opts.body.data.request_options, { challenge: Buffer.from('not-the-challenge-given-here-00').toString('base64url') });
    badCredential(await api(wile.page, 'POST', '/auth/webauthn/login', { credential: forged }));
  });

  it('refuses an assertion made on another origin (relying party evil.localhost) with the same key', async () => {
    const { credentials } = await wile.cdp.send('WebAuthn.getCredentials', { authenticatorId: wile.authenticatorId });
    const other = await withAuthenticator(`http://evil.localhost:${port}`);
    // The same credential id and private key, as a phishing site's relying party would see it.
    await other.cdp.send('WebAuthn.addCredential', { authenticatorId: other.authenticatorId, credential: { ...credentials[0], rpId: 'evil.localhost' } });
    const opts = await api(wile.page, 'GET', '/auth/webauthn/login');
    const phished = await get(other.page, opts.body.data.request_options, { rpId: 'evil.localhost' });
    assert.equal((phished as any).id, wileCredentialId);
    badCredential(await api(wile.page, 'POST', '/auth/webauthn/login', { credential: phished }));
    await other.context.close();
  });

  it("refuses another user's passkey as a second factor", async () => {
    const road = await withAuthenticator();
    await registerPasskey(road.page, 'road', 'Phone');
    assert.equal((await api(road.page, 'DELETE', '/auth/session')).status, 401);
    assert.equal((await signInWithPassword(road.page, 'road')).status, 401);
    const opts = await api(road.page, 'GET', '/auth/webauthn/authenticate');
    // wile's authenticator answers road's challenge with wile's own discoverable passkey.
    const wrong = await get(wile.page, opts.body.data.request_options, { allowCredentials: [] });
    badCredential(await api(road.page, 'POST', '/auth/webauthn/authenticate', { credential: wrong }));
    await road.context.close();
  });

  it('refuses a sign counter that goes back', async () => {
    const row = await t.core.store.read.authenticators.byCredentialId(wileCredentialId);
    assert.ok(row);
    const data = JSON.parse(row.data);
    assert.ok(data.counter > 0, 'the virtual authenticator counts');
    await t.core.store.transaction((r) => r.authenticators.swapData(row.pk, row.data, JSON.stringify({ ...data, counter: data.counter + 1000 }), Date.now()));
    const opts = await api(wile.page, 'GET', '/auth/webauthn/login');
    badCredential(await api(wile.page, 'POST', '/auth/webauthn/login', { credential: await get(wile.page, opts.body.data.request_options) }));
    await t.core.store.transaction(async (r) => {
      const now = (await r.authenticators.byCredentialId(wileCredentialId))!;
      await r.authenticators.swapData(row.pk, now.data, JSON.stringify({ ...data, counter: 0 }), Date.now());
    });
  });

  it('removes the passkey: the password alone signs in again', async () => {
    assert.equal((await signInWithPassword(wile.page, 'wile')).status, 401);
    const opts = await api(wile.page, 'GET', '/auth/webauthn/authenticate');
    assert.equal((await api(wile.page, 'POST', '/auth/webauthn/authenticate', { credential: await get(wile.page, opts.body.data.request_options) })).status, 200);
    const list = await api(wile.page, 'GET', '/account/authenticators');
    const id = list.body.data.find((a: any) => a.type === 'webauthn').id;
    assert.equal((await api(wile.page, 'DELETE', '/account/authenticators/webauthn', { authenticators: [id + 1000] })).status, 404);
    assert.equal((await api(wile.page, 'DELETE', '/account/authenticators/webauthn', { authenticators: [id] })).status, 200);
    assert.deepEqual((await api(wile.page, 'GET', '/account/authenticators')).body.data, []);
    assert.equal((await api(wile.page, 'DELETE', '/auth/session')).status, 401);
    assert.equal((await signInWithPassword(wile.page, 'wile')).status, 200);
    await wile.context.close();
  });
});
