// Signing in through upstream identity providers, with real parts: panva's oidc-provider on a
// loopback port as the upstream, signed in to through its own development forms by a browser
// without JavaScript (fetch, a cookie jar, redirects followed by hand), ending in Latchkey's
// REST-auth session; the providers managed over /api/identity-providers/; the linking rules; and
// the attacks on the protocol (forged, replayed or foreign state, a code for another provider,
// an open redirect), each refused with a clear 4xx and nothing written.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { oidcApp, PASSWORD, type OidcApp } from '../oidc/support.ts';
import { Browser, browse, startOidcProvider } from './support.ts';
import { formOf } from '../oidc/support.ts';
import { pyotpCode } from '../pages/support.ts';

const SECRET = 'upstream-client-secret-0123456789abcdef';
noteSecret(SECRET);

for (const { engine, skip } of engines) {
  describe(`sign-in through an upstream OpenID provider (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let op: Awaited<ReturnType<typeof startOidcProvider>>;
    const callback = () => `${app.base}/api/auth/social/corp/callback/`;
    const isCallback = (u: string) => u.startsWith(callback());
    const userCount = async () => (await app.t.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const links = async () => app.t.store.db.selectFrom('social_accounts').selectAll().execute();

    /** Signs in at the upstream as `login` and answers the callback URL it sent the browser to, not yet followed. */
    async function toCallback(browser: Browser, login: string, query = '') {
      const r = await browse(browser, `${app.base}/api/auth/social/corp/login/${query}`, { login, stop: isCallback });
      assert.ok(r.location && isCallback(r.location), `expected the callback, got ${r.status} ${r.location} ${r.text.slice(0, 300)}`);
      return r.location;
    }

    before(async () => {
      app = await oidcApp(engine);
      op = await startOidcProvider({
        clientId: 'latchkey', clientSecret: SECRET, redirectUris: [`${app.base}/api/auth/social/corp/callback/`],
        accounts: {
          alice: { email: 'alice@corp.example', email_verified: true, name: 'Alice Upstream' },
          bob: { email: 'bob@corp.example', email_verified: true },
          mallory: { email: 'victim@example.com', email_verified: false },
          ursula: { email: 'ursula@corp.example', email_verified: false },
          outsider: { email: 'out@elsewhere.example', email_verified: true },
          dana: { email: 'dana@corp.example', email_verified: true },
        },
      });
    });
    after(async () => {
      await op?.close().catch(() => {});
      await app?.close();
    });

    it('staff add a provider over /api/identity-providers/: discovery checked, the secret write-only and sealed at rest', async () => {
      const r = await app.t.request({
        method: 'POST', url: '/api/identity-providers/', headers: app.admin,
        payload: { id: 'corp', name: 'Corp SSO', kind: 'oidc', issuer: op.issuer, client_id: 'latchkey', client_secret: SECRET, jit: true, allowed_domains: [] },
      });
      assert.equal(r.statusCode, 201, r.body);
      const body = r.json();
      assert.equal(body.id, 'corp');
      assert.equal(body.has_client_secret, true);
      assert.equal(body.callback_url, callback());
      assert.ok(!r.body.includes(SECRET), 'the secret is never answered');
      const row = await app.t.store.db.selectFrom('identity_providers' as any).selectAll().executeTakeFirstOrThrow() as any;
      assert.ok(row.client_secret.startsWith('lk1.') && !row.client_secret.includes(SECRET), 'sealed at rest');

      const list = await app.t.request({ method: 'GET', url: '/api/identity-providers/', headers: app.admin });
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().count, 1);
      assert.deepEqual(Object.keys(list.json()).sort(), ['count', 'next', 'previous', 'resources']);
      assert.ok(!list.body.includes(SECRET));
    });

    it('bad provider settings are 400s naming the field, and nothing is saved', async () => {
      const post = (payload: Record<string, unknown>) => app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { client_id: 'x', ...payload } });
      const unreachable = await post({ id: 'down', kind: 'oidc', issuer: 'http://127.0.0.1:9/' });
      assert.equal(unreachable.statusCode, 400);
      assert.ok(unreachable.json().issuer[0].includes('discovery'), unreachable.body);
      assert.ok((await post({ id: 'ftp', kind: 'oidc', issuer: 'ftp://idp.example' })).json().issuer);
      assert.ok((await post({ id: 'plain', kind: 'oidc', issuer: 'http://idp.example' })).json().issuer, 'plain http only on loopback');
      assert.ok((await post({ id: 'cred', kind: 'oidc', issuer: 'https://user:pw@idp.example' })).json().issuer, 'no credentials in URLs');
      assert.ok((await post({ id: 'noissuer', kind: 'oidc' })).json().issuer);
      assert.ok((await post({ id: 'Bad Id', kind: 'google' })).json().id);
      assert.ok((await post({ id: 'k', kind: 'saml' })).json().kind);
      assert.ok((await post({ id: 'gh', kind: 'github', authorization_endpoint: 'not a url' })).json().authorization_endpoint);
      assert.ok((await post({ id: 'dom', kind: 'oidc', issuer: op.issuer, allowed_domains: ['not a domain'] })).json().allowed_domains);
      const dup = await post({ id: 'corp', kind: 'oidc', issuer: op.issuer });
      assert.equal(dup.statusCode, 400);
      assert.ok(dup.json().id);
      assert.equal((await app.t.request({ method: 'GET', url: '/api/identity-providers/', headers: app.admin })).json().count, 1);
    });

    it('only the tenant\'s staff manage providers', async () => {
      await app.t.createUser({ username: 'plain', password: PASSWORD });
      const { headers } = await app.t.login('plain', PASSWORD);
      assert.equal((await app.t.request({ method: 'GET', url: '/api/identity-providers/', headers })).statusCode, 403);
      assert.equal((await app.t.request({ method: 'GET', url: '/api/identity-providers/' })).statusCode, 401);
      assert.equal((await app.t.request({ method: 'DELETE', url: '/api/identity-providers/corp/', headers })).statusCode, 403);
    });

    it('/api/auth/providers/ lists the provider with working login and connect URLs', async () => {
      const r = await app.t.request({ method: 'GET', url: '/api/auth/providers/' });
      const item = r.json().results[0];
      assert.equal(item.sso_enabled, true);
      assert.equal(item.sso_registration, true);
      assert.equal(item.providers[0].id, 'corp');
      assert.equal(item.providers[0].login, `${app.base}/api/auth/social/corp/login/`);
      assert.equal(item.providers[0].connect, `${app.base}/api/auth/social/corp/connect/`);
    });

    it('the login URL signs a new person in through the upstream\'s forms: an account made just in time, the sessionid session, then next', async () => {
      const browser = new Browser();
      const back = await toCallback(browser, 'alice', '?next=/welcome');
      const u = new URL(back);
      assert.ok(u.searchParams.get('state') && u.searchParams.get('code') && u.searchParams.get('iss') === op.issuer, 'state, code and the issuer (RFC 9207)');
      const done = await browser.request(back);
      assert.equal(done.status, 302, done.text);
      assert.equal(done.location, `${app.base}/welcome`);
      const me = await browser.request(`${app.base}/api/auth/user/`);
      assert.equal(me.status, 200, me.text);
      assert.equal(JSON.parse(me.text).email, 'alice@corp.example');
      const user = await app.t.core.store.read.users.findOneByEmail((await app.t.core.tenants.resolve(undefined)).pk, 'alice@corp.example');
      assert.ok(user && user.passwordHash === null && user.emailVerified, 'no password; the upstream verified the address');
      const social = await browser.request(`${app.base}/api/auth/social/`);
      const list = JSON.parse(social.text);
      assert.equal(list.count, 1);
      assert.equal(list.results[0].provider, 'corp');
      assert.equal(list.results[0].uid, 'alice');
      assert.ok(list.results[0].last_login, 'last sign-in recorded');

      // The same person again: the same account, not a second one.
      const before = await userCount();
      const again = new Browser();
      const r = await again.request(await toCallback(again, 'alice'));
      assert.equal(r.status, 302);
      assert.equal(r.location, `${app.base}/`);
      assert.equal(await userCount(), before);
    });

    it('a state is single use, bound to the browser that began, and cannot be forged', async () => {
      const browser = new Browser();
      const back = await toCallback(browser, 'alice');
      // Another browser (no binding cookie) holding the whole callback URL is refused, and does not spend it.
      const thief = await new Browser().request(back);
      assert.equal(thief.status, 400, thief.text);
      assert.ok(JSON.parse(thief.text).non_field_errors[0].includes('start it again'));
      assert.equal((await browser.request(back)).status, 302, 'the right browser still completes');
      // Replayed: the state was spent.
      const replay = new Browser();
      const b2 = await toCallback(replay, 'alice');
      assert.equal((await replay.request(b2)).status, 302);
      const second = await app.t.request({ method: 'GET', url: new URL(b2).pathname + new URL(b2).search });
      assert.equal(second.statusCode, 400);
      // Forged and missing states.
      assert.equal((await app.t.request({ method: 'GET', url: '/api/auth/social/corp/callback/?code=abc&state=forged' })).statusCode, 400);
      assert.equal((await app.t.request({ method: 'GET', url: '/api/auth/social/corp/callback/' })).statusCode, 400);
      assert.equal((await app.t.request({ method: 'GET', url: '/api/auth/social/corp/callback/?error=access_denied' })).statusCode, 400);
    });

    it('a code for another sign-in does not complete this one; an upstream refusal is a 400', async () => {
      const b1 = new Browser();
      const first = new URL(await toCallback(b1, 'alice'));
      const b2 = new Browser();
      const other = new URL(await toCallback(b2, 'bob'));
      // b1's state (and browser) with b2's code: bound to b2's PKCE verifier, the upstream refuses it.
      first.searchParams.set('code', other.searchParams.get('code')!);
      const r = await b1.request(first.href);
      assert.equal(r.status, 400, r.text);
      assert.ok(JSON.parse(r.text).non_field_errors[0].includes('Corp SSO'));
      assert.equal((await links()).filter((l) => l.uid === 'bob').length, 0, 'nothing linked');
    });

    it('an unverified upstream e-mail matching an existing account is not linked; a verified one on both sides is', async () => {
      const victim = await app.t.createUser({ username: 'victim', password: PASSWORD, email: 'victim@example.com' });
      await app.t.store.db.updateTable('users').set({ email_verified: 1 as any }).where('pk', '=', victim.pk).execute();
      const before = await userCount();
      const browser = new Browser();
      const r = await browser.request(await toCallback(browser, 'mallory'));
      assert.equal(r.status, 400, r.text);
      assert.ok(JSON.parse(r.text).non_field_errors[0].includes('exists already'));
      assert.equal(await userCount(), before, 'no account made');
      assert.equal((await links()).filter((l) => l.user_pk === victim.pk).length, 0, 'no link made');
      assert.ok(!r.text.includes('sessionid'));

      // Verified by the upstream and locally: joined to the existing account.
      const bob = await app.t.createUser({ username: 'bob', password: PASSWORD, email: 'bob@corp.example' });
      await app.t.store.db.updateTable('users').set({ email_verified: 1 as any }).where('pk', '=', bob.pk).execute();
      const b = new Browser();
      assert.equal((await b.request(await toCallback(b, 'bob'))).status, 302);
      assert.equal(JSON.parse((await b.request(`${app.base}/api/auth/user/`)).text).username, 'bob');

      // Verified upstream, not locally: no link either.
      const ursula = await app.t.createUser({ username: 'ursula', password: PASSWORD, email: 'ursula@corp.example' });
      const u = new Browser();
      assert.equal((await u.request(await toCallback(u, 'ursula'))).status, 400);
      assert.equal((await links()).filter((l) => l.user_pk === ursula.pk).length, 0);
    });

    it('an open redirect in next is refused; the tenant\'s allowed origins are accepted', async () => {
      for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
        const r = await app.t.request({ method: 'GET', url: `/api/auth/social/corp/login/?next=${encodeURIComponent(next)}` });
        assert.equal(r.statusCode, 400, `${next}: ${r.body}`);
        assert.ok(r.json().next, r.body);
      }
      const put = await app.t.request({ method: 'POST', url: '/api/configuration/', headers: app.admin, payload: { key: 'allowed_redirect_urls', value: 'https://app.example' } });
      assert.ok([200, 201].includes(put.statusCode), put.body);
      const ok = await app.t.request({ method: 'GET', url: `/api/auth/social/corp/login/?next=${encodeURIComponent('https://app.example/done')}` });
      assert.equal(ok.statusCode, 302, ok.body);
      assert.ok(ok.headers.location!.startsWith(op.issuer));
    });

    it('connect links the upstream identity to the signed-in account; one identity belongs to one account; the last way in stays', async () => {
      const carol = await app.t.createUser({ username: 'carol', password: PASSWORD, email: 'carol@example.com' });
      const browser = new Browser();
      const login = await browser.request(`${app.base}/api/auth/login/`, { form: { username: 'carol', password: PASSWORD } });
      assert.equal(login.status, 200, login.text);
      const r = await browse(browser, `${app.base}/api/auth/social/corp/connect/?next=/linked`, { login: 'dana', stop: isCallback });
      const done = await browser.request(r.location!);
      assert.equal(done.status, 302, done.text);
      assert.equal(done.location, `${app.base}/linked`);
      assert.deepEqual((await links()).filter((l) => l.user_pk === carol.pk).map((l) => l.uid), ['dana']);
      // dana's identity now signs in to carol's account.
      const b = new Browser();
      assert.equal((await b.request(await toCallback(b, 'dana'))).status, 302);
      assert.equal(JSON.parse((await b.request(`${app.base}/api/auth/user/`)).text).username, 'carol');

      // alice's identity is another account's: connecting it to carol is refused.
      const other = new Browser();
      assert.equal((await other.request(`${app.base}/api/auth/login/`, { form: { username: 'carol', password: PASSWORD } })).status, 200);
      const again = await browse(other, `${app.base}/api/auth/social/corp/connect/`, { login: 'alice', stop: isCallback });
      const refused = await other.request(again.location!);
      assert.equal(refused.status, 400, refused.text);
      assert.ok(JSON.parse(refused.text).non_field_errors[0].includes('another user'));
      // Connect needs a signed-in account.
      assert.equal((await app.t.request({ method: 'GET', url: '/api/auth/social/corp/connect/' })).statusCode, 401);

      // alice has no password and one link: it cannot be disconnected.
      const alice = new Browser();
      await alice.request(await toCallback(alice, 'alice'));
      const key = await app.t.core.signIn.now({ tenant: undefined, issue: { kind: 'session_and_key' }, factor: { method: 'password', by: 'username', identifier: 'carol', password: PASSWORD } });
      const carolLink = (await links()).find((l) => l.uid === 'dana')!;
      const aliceLink = (await links()).find((l) => l.uid === 'alice')!;
      const aliceUser = (await app.t.store.read.users.findByPk(aliceLink.user_pk))!;
      const aliceKey = (await app.t.core.signIn.newAccount(aliceUser, { kind: 'session_and_key' })).issued.key;
      const last = await app.t.request({ method: 'POST', url: `/api/auth/social/${aliceLink.pk}/disconnect/`, headers: { authorization: `Token ${aliceKey}` } });
      assert.equal(last.statusCode, 400, last.body);
      assert.ok(last.json().non_field_errors[0].includes('only way'));
      const gone = await app.t.request({ method: 'POST', url: `/api/auth/social/${carolLink.pk}/disconnect/`, headers: { authorization: `Token ${key.issued.key}` } });
      assert.equal(gone.statusCode, 200, gone.body);
      assert.equal((await links()).filter((l) => l.user_pk === carol.pk).length, 0);
    });

    it('a second factor enrolled here: the callback draws the hosted pages\' code step, the code opens the session, `continue/` goes on to next', async () => {
      // alice has an account from the first sign-in; she sets up TOTP here.
      const tenant = await app.t.core.tenants.resolve(undefined);
      const alice = (await app.t.core.store.read.users.findOneByEmail(tenant.pk, 'alice@corp.example'))!;
      const setup = await app.t.core.secondFactors.totpSetup(tenant, alice);
      await app.t.core.secondFactors.totpActivate(tenant, alice, await pyotpCode(setup.secret, Date.now()));
      try {
        const browser = new Browser();
        const back = await toCallback(browser, 'alice', `?next=${encodeURIComponent('https://app.example/done')}`);
        const page = await browser.request(back);
        assert.equal(page.status, 200, page.text.slice(0, 300));
        assert.match(page.text, /name="code"/);
        assert.equal((await browser.request(`${app.base}/api/auth/user/`)).status, 401, 'no session before the code');
        const form = formOf(page);
        assert.equal(form.action, `${app.base}/account/login/code/`);
        const wrong = await browser.request(form.action, { form: { ...form.fields, code: '000000' } });
        assert.equal(wrong.status, 400, 'a wrong code: the step again');
        const done = await browser.request(form.action, { form: { ...form.fields, code: await pyotpCode(setup.secret, Date.now() + 30_000) } });
        assert.equal(done.status, 303, done.text.slice(0, 300));
        assert.equal(done.location, `${app.base}/api/auth/social/continue/?next=${encodeURIComponent('https://app.example/done')}`);
        const on = await browser.request(done.location!);
        assert.equal(on.status, 302, on.text);
        assert.equal(on.location, 'https://app.example/done');
        assert.equal(JSON.parse((await browser.request(`${app.base}/api/auth/user/`)).text).email, 'alice@corp.example');
        // continue/ checks next again, and needs the session.
        assert.equal((await browser.request(`${app.base}/api/auth/social/continue/?next=${encodeURIComponent('https://evil.example/')}`)).status, 400);
        assert.equal((await new Browser().request(`${app.base}/api/auth/social/continue/?next=/`)).status, 401);
      } finally {
        await app.t.core.secondFactors.totpDeactivate(tenant, alice);
      }
    });

    it('an upstream that goes down during the sign-in: a clear 503, no account made', async () => {
      const browser = new Browser();
      const back = await toCallback(browser, 'outsider');
      const before = await userCount();
      await op.close();
      const r = await browser.request(back);
      assert.equal(r.status, 503, r.text);
      assert.ok(JSON.parse(r.text).detail.includes('cannot be reached'));
      assert.equal(await userCount(), before);
    });
  });
}
