// The presets against local stand-ins of their endpoints (each preset's issuer or endpoints
// overridden, as a private GitLab or an Entra ID directory would be), and the attacks on the ID
// token and the response that openid-client must catch: another audience, another issuer, another
// nonce, an `iss` of another provider in the response (mix-up). Each refused with a 400 and
// nothing written; the domain policy; trusted_for_mfa.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { oidcApp, PASSWORD, type OidcApp } from '../oidc/support.ts';
import { OPERATOR } from '../../src/core/index.ts';
import { Browser, browse, startStandIn, type StandIn } from './support.ts';
import { formOf } from '../oidc/support.ts';

const SECRET = 'stand-in-client-secret-0123456789';
noteSecret(SECRET);

for (const { engine, skip } of engines) {
  describe(`upstream presets against stand-ins, and ID-token attacks (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let idp: StandIn;
    const users = async () => Number((await app.t.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const links = async () => app.t.store.db.selectFrom('social_accounts').selectAll().execute();
    const add = async (payload: Record<string, unknown>) => {
      const r = await app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { client_id: 'latchkey', client_secret: SECRET, jit: true, ...payload } });
      assert.equal(r.statusCode, 201, r.body);
      return r.json();
    };
    /** The stand-in signs in without a form: login URL -> stand-in -> callback, followed. */
    const signIn = async (provider: string) => {
      const browser = new Browser();
      const r = await browse(browser, `${app.base}/api/auth/social/${provider}/login/`, { stop: (u) => u.startsWith(`${app.base}/api/auth/social/${provider}/callback/`) });
      const done = await browser.request(r.location!);
      return { done, browser, body: done.status < 400 ? undefined : JSON.parse(done.text) };
    };

    before(async () => {
      app = await oidcApp(engine);
      idp = await startStandIn({ clientId: 'latchkey', clientSecret: SECRET });
    });
    after(async () => {
      await idp?.close();
      await app?.close();
    });

    it('Google, Microsoft, GitLab and Apple presets sign in at their (overridden) issuer', async () => {
      for (const [i, kind] of ['google', 'microsoft', 'gitlab', 'apple'].entries()) {
        const p = await add({ id: kind, kind, issuer: idp.base });
        assert.equal(p.name, { google: 'Google', microsoft: 'Microsoft', gitlab: 'GitLab', apple: 'Apple' }[kind]);
        idp.account = { sub: `${kind}-1`, email: `p${i}@people.example`, email_verified: true, name: `Person ${i}` };
        const { done, browser } = await signIn(kind);
        assert.equal(done.status, 302, done.text);
        const me = JSON.parse((await browser.request(`${app.base}/api/auth/user/`)).text);
        assert.equal(me.email, `p${i}@people.example`);
        assert.ok((await links()).some((l) => l.provider === kind && l.uid === `${kind}-1`));
      }
    });

    it('Apple answers by form POST from its own site: the POST goes on to the GET callback (303, nothing written), the unsigned `user` gives only the name', async () => {
      await add({ id: 'apple-fp', kind: 'apple', issuer: idp.base });
      idp.account = { sub: 'apple-fp-1', email: 'ada@people.example', email_verified: true };
      idp.postedUser = JSON.stringify({ name: { firstName: 'Ada', lastName: 'Lovelace' }, email: 'someone-else@evil.example' });
      try {
        const browser = new Browser();
        const callback = `${app.base}/api/auth/social/apple-fp/callback/`;
        const login = await browser.request(`${app.base}/api/auth/social/apple-fp/login/`);
        assert.equal(login.status, 302);
        assert.equal(new URL(login.location!).searchParams.get('response_mode'), 'form_post');
        assert.match(new URL(login.location!).searchParams.get('scope')!, /\bname\b/);
        const page = await browser.request(login.location!);
        assert.equal(idp.lastResponseMode, 'form_post');
        const form = formOf(page);
        assert.equal(form.action, callback);
        const before = await users();
        const posted = await browser.request(form.action, { form: form.fields });
        assert.equal(posted.status, 303, posted.text);
        const next = new URL(posted.location!);
        assert.equal(next.href.split('?')[0], callback);
        assert.deepEqual([...next.searchParams.keys()].sort(), ['code', 'iss', 'state', 'user']);
        assert.equal(await users(), before, 'the POST writes nothing');
        const done = await browser.request(posted.location!);
        assert.equal(done.status, 302, done.text);
        const me = JSON.parse((await browser.request(`${app.base}/api/auth/user/`)).text);
        assert.equal(me.email, 'ada@people.example', 'the address is the ID token\'s, not the posted one');
        assert.deepEqual([me.first_name, me.last_name], ['Ada', 'Lovelace']);
        // The same answer posted again: its state is spent.
        const again = await browser.request(form.action, { form: form.fields });
        const replay = await browser.request(again.location!);
        assert.equal(replay.status, 400, replay.text);
        // A POST with no fields, or junk: a 303 whose GET is refused as unknown state, never a 500.
        const junk = await browser.request(form.action, { form: { state: 'x'.repeat(50), code: 'nope', other: 'ignored' } });
        assert.equal(junk.status, 303);
        assert.ok(!junk.location!.includes('other='), 'only the answer\'s fields go on');
        assert.equal((await browser.request(junk.location!)).status, 400);
        const tooLong = await browser.request(form.action, { form: { state: 'x'.repeat(500) } });
        assert.equal(tooLong.status, 400, tooLong.text);
      } finally {
        idp.postedUser = undefined;
      }
    });

    it('the GitHub preset (OAuth 2.0 and the profile API, no ID token) with its endpoints overridden', async () => {
      await add({
        id: 'github', kind: 'github', authorization_endpoint: `${idp.base}/login/oauth/authorize`, token_endpoint: `${idp.base}/login/oauth/access_token`,
        userinfo_endpoint: `${idp.base}/user`, emails_endpoint: `${idp.base}/user/emails`,
      });
      idp.account = { sub: '4242', email: 'octo@people.example', email_verified: true, name: 'Octo Cat' };
      const { done, browser } = await signIn('github');
      assert.equal(done.status, 302, done.text);
      assert.equal(JSON.parse((await browser.request(`${app.base}/api/auth/user/`)).text).username, 'octocat');
      assert.ok((await links()).some((l) => l.provider === 'github' && l.uid === '4242'));
    });

    it('an ID token for another audience, from another issuer, with another nonce or signed by a key the provider does not publish, and a response naming another issuer: refused, nothing made', async () => {
      await add({ id: 'attacked', kind: 'oidc', issuer: idp.base });
      idp.account = { sub: 'victim-1', email: 'attack@people.example', email_verified: true };
      const before = await users();
      for (const spoil of [{ aud: 'someone-else' }, { iss: 'https://evil.example' }, { nonce: 'replayed-nonce' }, { issParam: 'https://evil.example' }, { foreignKey: true }]) {
        idp.spoil = spoil;
        const { done, body } = await signIn('attacked');
        assert.equal(done.status, 400, `${JSON.stringify(spoil)}: ${done.status} ${done.text}`);
        assert.ok(body.non_field_errors[0].includes('refused') || body.non_field_errors[0].includes('did not'), done.text);
        assert.equal(await users(), before, JSON.stringify(spoil));
      }
      idp.spoil = {};
      assert.equal((await links()).filter((l) => l.uid === 'victim-1').length, 0);
      const { done } = await signIn('attacked');
      assert.equal(done.status, 302, 'unspoiled, the same provider signs in');
    });

    it('allowed domains: only verified addresses of the listed domains; link-only providers make no account', async () => {
      await add({ id: 'corp', kind: 'oidc', issuer: idp.base, allowed_domains: ['corp.example'] });
      idp.account = { sub: 'd-1', email: 'x@other.example', email_verified: true };
      assert.equal((await signIn('corp')).done.status, 400);
      idp.account = { sub: 'd-2', email: 'x@corp.example', email_verified: false };
      assert.equal((await signIn('corp')).done.status, 400);
      idp.account = { sub: 'd-3', email: 'y@corp.example', email_verified: true };
      assert.equal((await signIn('corp')).done.status, 302);

      await app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { id: 'linkonly', kind: 'oidc', issuer: idp.base, client_id: 'latchkey', client_secret: SECRET, jit: false } });
      idp.account = { sub: 'l-1', email: 'nobody@people.example', email_verified: true };
      const before = await users();
      const r = await signIn('linkonly');
      assert.equal(r.done.status, 400);
      assert.ok(r.body.non_field_errors[0].includes('No account'));
      assert.equal(await users(), before);
    });

    it('a second factor: required by the tenant, met by a provider trusted for MFA whose amr says so, not otherwise', async () => {
      const tenant = await app.t.core.tenants.resolve(undefined);
      await app.t.request({ method: 'POST', url: '/api/configuration/', headers: app.admin, payload: { key: 'mfa_required', value: 'true' } });
      await add({ id: 'trusted', kind: 'oidc', issuer: idp.base, trusted_for_mfa: true });
      idp.account = { sub: 'm-1', email: 'mfa@people.example', email_verified: true, amr: ['pwd', 'mfa'] };
      assert.equal((await signIn('trusted')).done.status, 302);
      idp.account = { sub: 'm-2', email: 'mfa2@people.example', email_verified: true, amr: ['pwd'] };
      // No second factor yet: a session that may only set one up, on the hosted pages' Security page.
      const one = await signIn('trusted');
      assert.equal(one.done.status, 303, one.done.text);
      assert.equal(one.done.location, `${app.base}/account/security/`);
      const held = await one.browser.request(`${app.base}/api/auth/user/`);
      assert.equal(held.status, 403, 'the session does nothing else until a second factor is set up');
      assert.match(held.text, /second factor/);
      await app.t.core.identityProviders.update(OPERATOR, tenant, 'trusted', { trustedForMfa: false });
      idp.account = { sub: 'm-1', email: 'mfa@people.example', email_verified: true, amr: ['pwd', 'mfa'] };
      assert.equal((await signIn('trusted')).done.location, `${app.base}/account/security/`, 'not trusted: its amr counts for nothing');
      await app.t.request({ method: 'POST', url: '/api/configuration/', headers: app.admin, payload: { key: 'mfa_required', value: 'false' } });
      void PASSWORD;
    });

    it('an upstream answering 503 at the token endpoint: a clear 503, nothing made', async () => {
      idp.account = { sub: 'down-1', email: 'down@people.example', email_verified: true };
      const browser = new Browser();
      const r = await browse(browser, `${app.base}/api/auth/social/attacked/login/`, { stop: (u) => u.includes('/callback/') });
      const before = await users();
      idp.spoil = { down: true };
      const done = await browser.request(r.location!);
      idp.spoil = {};
      assert.equal(done.status, 503, done.text);
      assert.equal(await users(), before);
    });
  });
}
