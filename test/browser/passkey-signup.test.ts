// Signing up with a passkey alone through the headless browser API in a real browser: Chromium's
// virtual authenticator (CDP WebAuthn domain, ctap2, internal, resident keys, user verified) on a
// page the Latchkey instance under test serves (http://localhost:PORT is PUBLIC_URL), calling
// navigator.credentials.create/get with the options the API answers, as django-allauth's React
// example does. Sign up (POST, GET, PUT), sign out, sign in with the passkey alone. Attacks: the
// PUT replayed (409), a passkey created for other options (400, no account). Every answer is
// checked against the served OpenAPI document. SQLite only; skipped when /usr/bin/chromium is
// missing outside CI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { engines } from '../helpers/engines.ts';
import { chromiumSkip, launchChromium, withVirtualAuthenticator } from '../helpers/chromium.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/processes.ts';
import { SchemaCheck } from '../headless/support.ts';

const skip = chromiumSkip('passkey browser test');
const sqlite = engines.find((e) => e.engine.name === 'sqlite')!.engine;
const API = '/_allauth/browser/v1';

interface Answer { status: number; body: any }

describe('sign-up by passkey through the headless browser API in Chromium [sqlite]', { skip, timeout: 180_000 }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let schema: SchemaCheck;

  before(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    t = await startApp(sqlite, { publicUrl: base });
    await t.app.listen({ host: '127.0.0.1', port });
    schema = await SchemaCheck.of(t);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function withAuthenticator(): Promise<Page> {
    const { page } = await withVirtualAuthenticator(await browser.newContext());
    await page.goto(`${base}${API}/config`);
    return page;
  }

  async function api(page: Page, method: string, path: string, body?: unknown): Promise<Answer> {
    const a = await page.evaluate(async ({ method, url, body }) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.slice('csrftoken='.length);
      const r = await fetch(url, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(csrf ? { 'x-csrftoken': csrf } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, text: await r.text() };
    }, { method, url: `${API}${path}`, body });
    schema.check(method, `${API}${path}`, { statusCode: a.status, body: a.text, json: () => JSON.parse(a.text) } as any);
    return { status: a.status, body: JSON.parse(a.text) };
  }

  const create = (page: Page, options: any) => page.evaluate(async (o: any) => {
    const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o.publicKey) }) as PublicKeyCredential;
    return cred.toJSON();
  }, options);
  const get = (page: Page, options: any) => page.evaluate(async (o: any) => {
    const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o) }) as PublicKeyCredential;
    return cred.toJSON();
  }, options.publicKey);

  it('signs up with a passkey alone, signs out, and signs in with that passkey; a replayed PUT is 409', async () => {
    const page = await withAuthenticator();
    const start = await api(page, 'POST', '/auth/webauthn/signup', { email: 'coyote@example.test' });
    assert.equal(start.status, 401, JSON.stringify(start.body));
    assert.ok(start.body.data.flows.some((f: any) => f.id === 'mfa_signup_webauthn' && f.is_pending));
    const opts = await api(page, 'GET', '/auth/webauthn/signup');
    assert.equal(opts.status, 200);
    assert.equal(opts.body.data.creation_options.publicKey.rp.id, 'localhost');
    const credential = await create(page, opts.body.data.creation_options);
    const done = await api(page, 'PUT', '/auth/webauthn/signup', { name: 'Laptop', credential });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.data.user.username, 'coyote@example.test');
    assert.equal(done.body.data.user.has_usable_password, false);
    assert.deepEqual(done.body.data.methods.map((m: any) => [m.method, m.type]), [['mfa', 'webauthn']]);
    const list = await api(page, 'GET', '/account/authenticators');
    assert.deepEqual(list.body.data.map((a: any) => [a.type, a.name, a.is_passwordless]), [['webauthn', 'Laptop', true]]);
    assert.equal((await api(page, 'PUT', '/auth/webauthn/signup', { name: 'Laptop', credential })).status, 409, 'signed in: no sign-up pending');
    assert.equal((await api(page, 'DELETE', '/auth/session')).status, 401);
    assert.equal((await api(page, 'PUT', '/auth/webauthn/signup', { name: 'Laptop', credential })).status, 409, 'the used sign-up is gone');
    const login = await api(page, 'GET', '/auth/webauthn/login');
    const signedIn = await api(page, 'POST', '/auth/webauthn/login', { credential: await get(page, login.body.data.request_options) });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.data.user.username, 'coyote@example.test');
  });

  it('a passkey created for other options is 400 and leaves no account', async () => {
    const page = await withAuthenticator();
    assert.equal((await api(page, 'POST', '/auth/webauthn/signup', { email: 'roadrunner@example.test' })).status, 401);
    const first = await api(page, 'GET', '/auth/webauthn/signup');
    await api(page, 'GET', '/auth/webauthn/signup');
    const stale = await api(page, 'PUT', '/auth/webauthn/signup', { name: 'Old', credential: await create(page, first.body.data.creation_options) });
    assert.equal(stale.status, 400, JSON.stringify(stale.body));
    assert.equal(stale.body.errors[0].param, 'credential');
    const tenant = await t.core.tenants.resolve(undefined);
    assert.equal(await t.store.read.users.findByUsername(tenant.pk, 'roadrunner@example.test'), undefined);
  });
});
