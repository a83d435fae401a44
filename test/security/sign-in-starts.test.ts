// Threat: a script fills the database (or mails a thousand addresses) without signing in. A
// sign-in that begins before anyone is known writes something that lives for minutes: a passkey
// challenge with no user (headless, the hosted pages, the OpenID interaction), a sign-up by
// passkey, a request to an upstream provider, a sign-in code mailed to an address. Each is
// counted per client address and tenant (`sign_in_start_ip_limit` a rolling minute); past it,
// every front-end answers 429 with Retry-After in its own shape and nothing is stored. Another
// address, another tenant and a signed-in person are not held; the address heals within the
// minute. Addresses are set per request (inject's remoteAddress); time is a manual clock.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { ManualClock, OPERATOR } from '../../src/core/index.ts';
import { oidcApp, REDIRECT, type OidcApp } from '../oidc/support.ts';
import { startOidcProvider } from '../identity-providers/support.ts';
import { SchemaCheck } from '../headless/support.ts';

const LIMIT = 3;
const SECRET = 'starts-upstream-secret-0123456789abcdef';
noteSecret(SECRET);

for (const { engine, skip } of engines) {
  describe(`sign-ins begun per address are limited [${engine.name}]`, { skip }, () => {
    const clock = new ManualClock(Date.now());
    let app: OidcApp;
    let schemas: SchemaCheck;
    let op: Awaited<ReturnType<typeof startOidcProvider>>;
    let n = 0;
    /** A fresh address per test, so each starts from nothing. */
    const address = () => `203.0.113.${++n}`;
    const rows = async (table: string) => Number((await app.t.store.db.selectFrom(table as any).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow() as { n: number | string }).n);
    const headless = async (ip: string, method: 'GET' | 'POST', path: string, body?: unknown, tenant = 'limited') => {
      const url = `/_allauth/app/v1/${path}`;
      const r = await app.t.request({ method, url, remoteAddress: ip, headers: tenant === 'default' ? {} : { 'x-tenant': tenant }, ...(body ? { payload: body as any } : {}) });
      schemas.check(method, url, r);
      return r;
    };
    const passkeyOptions = (ip: string, tenant = 'limited') => headless(ip, 'GET', 'auth/webauthn/login', undefined, tenant);
    const refusedAsHeadless = (r: { statusCode: number; headers: Record<string, unknown>; json(): any }) => {
      assert.equal(r.statusCode, 429);
      const wait = Number(r.headers['retry-after']);
      assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}`);
      assert.equal(r.json().errors[0].code, 'too_many_requests');
      assert.match(r.json().errors[0].message, /Too many sign-ins started from this address/);
    };
    /** Uses up the address's share in `limited` with passkey options. */
    const exhaust = async (ip: string) => {
      for (let i = 0; i < LIMIT; i++) assert.equal((await passkeyOptions(ip)).statusCode, 200);
    };

    before(async () => {
      app = await oidcApp(engine, { clock });
      schemas = await SchemaCheck.of(app.t);
      const tenant = await app.t.core.tenants.create('limited', 'Limited');
      await app.t.store.transaction((r) => r.settings.put(tenant.pk, 'sign_in_start_ip_limit', String(LIMIT), clock.now()));
      app.t.core.settings.invalidate(tenant.pk);
      op = await startOidcProvider({ clientId: 'latchkey', clientSecret: SECRET, redirectUris: [`${app.base}/api/auth/social/corp/callback/`], accounts: {} });
      await app.t.core.identityProviders.create(OPERATOR, tenant, { id: 'corp', name: 'Corp', kind: 'oidc', issuer: op.issuer, clientId: 'latchkey', clientSecret: SECRET });
    });
    after(async () => {
      await op?.close().catch(() => {});
      await app?.close();
    });

    it('headless: passkey options past the limit answer 429 in the spec\'s shape and store no challenge; other addresses and tenants go on', async () => {
      const ip = address();
      await exhaust(ip);
      const before = await rows('webauthn_challenges');
      refusedAsHeadless(await passkeyOptions(ip));
      assert.equal(await rows('webauthn_challenges'), before, 'a refused start stores nothing');
      assert.equal((await passkeyOptions(address())).statusCode, 200, 'another address is not held');
      assert.equal((await passkeyOptions(ip, 'default')).statusCode, 200, 'the default tenant (its own limit, 60) is not held');
      clock.advance(60_000);
      assert.equal((await passkeyOptions(ip)).statusCode, 200, 'a minute later the address begins again');
    });

    it('headless: a sign-up by passkey and a sign-in code count into the same share', async () => {
      const ip = address();
      const signup = await headless(ip, 'POST', 'auth/webauthn/signup', { email: `starts${n}@example.com`, username: `starts${n}` });
      assert.equal(signup.statusCode, 401, signup.body);
      const code = await headless(ip, 'POST', 'auth/code/request', { email: `nobody${n}@example.com` });
      assert.equal(code.statusCode, 401, code.body);
      assert.equal((await passkeyOptions(ip)).statusCode, 200);
      const signups = await rows('passkey_signups');
      refusedAsHeadless(await headless(ip, 'POST', 'auth/webauthn/signup', { email: `late${n}@example.com`, username: `late${n}` }));
      assert.equal(await rows('passkey_signups'), signups, 'no sign-up kept');
      refusedAsHeadless(await headless(ip, 'POST', 'auth/code/request', { email: `late${n}@example.com` }));
      clock.advance(60_000);
    });

    it('the hosted passkey page and the REST-auth upstream sign-in answer 429 pages and bodies, never 500', async () => {
      const ip = address();
      await exhaust(ip);
      const page = await app.t.request({ method: 'GET', url: '/tenants/limited/account/login/passkey/', remoteAddress: ip });
      assert.equal(page.statusCode, 429);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.ok(Number(page.headers['retry-after']) > 0);
      assert.match(page.body, /Too many attempts\. Wait \d+ seconds/);
      const requests = await rows('upstream_requests');
      const social = await app.t.request({ method: 'GET', url: '/api/auth/social/corp/login/?tenant=limited', remoteAddress: ip });
      assert.equal(social.statusCode, 429, social.body);
      assert.match(social.json().detail, /Too many sign-ins started from this address/);
      assert.equal(await rows('upstream_requests'), requests, 'no upstream request kept');
      const fresh = await app.t.request({ method: 'GET', url: '/api/auth/social/corp/login/?tenant=limited', remoteAddress: address() });
      assert.equal(fresh.statusCode, 302, 'another address goes to the provider');
      clock.advance(60_000);
    });

    it('the OpenID interaction\'s passkey page answers 429 once the address had its share', async () => {
      const client = await app.client({ tenant: 'limited' });
      const ip = address();
      const auth = await app.t.request({
        method: 'GET', remoteAddress: ip,
        url: `/tenants/limited/oidc/auth?${new URLSearchParams({ client_id: client.client_id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's1' })}`,
      });
      assert.equal(auth.statusCode, 303, auth.body);
      const cookie = (auth.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
      const interaction = String(auth.headers.location);
      await exhaust(ip);
      const page = await app.t.request({ method: 'GET', url: `${new URL(interaction, app.base).pathname}/login/passkey`, remoteAddress: ip, headers: { cookie } });
      assert.equal(page.statusCode, 429, page.body.slice(0, 300));
      assert.match(page.body, /Too many attempts/);
      const elsewhere = await app.t.request({ method: 'GET', url: `${new URL(interaction, app.base).pathname}/login/passkey`, remoteAddress: address(), headers: { cookie } });
      assert.equal(elsewhere.statusCode, 200, 'the same interaction from another address gets its options');
      clock.advance(60_000);
    });
  });
}
