// Passkeys on the hosted pages over HTTP, on both engines: the paths around the ceremonies that
// the browser test (test/browser/pages-passkeys.test.ts, real credentials from Chromium's
// virtual authenticator) does not walk. The served script; the options each ceremony page
// carries (fresh each time, the user's own passkeys only); a form posted without the form
// token, without an answer (no script ran) or with one that is no credential; the second
// step's passkey page without a flow, or for a user with no passkey; another user's passkey
// renamed or removed; an older session removing a passkey; another tenant's session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { ManualClock } from '../../src/core/index.ts';
import { assertPage, Browser, text } from './support.ts';

const PW = 'pages-passkeys-passphrase-1';

/** A credential id as authenticators make them (base64url). */
const idOf = (username: string, name: string) => Buffer.from(`${username}-${name}`).toString('base64url');

/** The ceremony's options, as the form carries them (an attribute, HTML-escaped JSON). */
function optionsOf(body: string): any {
  const m = body.match(/data-options="([^"]*)"/);
  assert.ok(m, 'the form carries its options');
  return JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&'));
}

for (const { engine, skip } of engines) {
  describe(`passkeys on the hosted pages [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    const clock = new ManualClock(Date.now());
    let annPasskey = 0;
    let benPasskey = 0;

    /** A passkey row as registration leaves it (the key itself is never used here: no assertion can be made without the authenticator). */
    const passkeyOf = async (username: string, name: string) => {
      const tenant = await t.core.tenants.resolve(undefined);
      const user = (await t.store.read.users.findByUsername(tenant.pk, username))!;
      const data = JSON.stringify({ publicKey: Buffer.from('not-a-key').toString('base64url'), counter: 0, transports: ['internal'], passwordless: true });
      return t.store.transaction((r) => r.authenticators.insert({ tenantPk: tenant.pk, userPk: user.pk, type: 'webauthn', name, credentialId: idOf(username, name), data, createdAt: clock.now(), lastUsedAt: null }));
    };
    const signIn = async (b: Browser, login: string, prefix = '') => {
      const token = await b.token(`${prefix}/account/login/`);
      return { token, r: await b.go('POST', `${prefix}/account/login/`, { csrf_token: token, login, password: PW }) };
    };
    /** Ann through the password and the second step's passkey page (her flow waits on it). */
    const atSecondStep = async () => {
      const b = new Browser(t);
      const { token, r } = await signIn(b, 'ann');
      assert.deepEqual([r.statusCode, r.headers.location], [303, '/account/login/code/']);
      noteSecret(b.jar.get('latchkey_signin')!.value);
      return { b, token };
    };

    before(async () => {
      t = await startApp(engine, { clock });
      noteSecret(PW);
      await t.createUser({ username: 'ann', password: PW, email: 'ann@example.com' });
      await t.createUser({ username: 'ben', password: PW, email: 'ben@example.com' });
      await t.createUser({ username: 'cat', password: PW, email: 'cat@example.com' });
      await t.core.tenants.create('acme', 'Acme');
      await t.createUser({ username: 'ann', password: PW, tenant: 'acme' });
      annPasskey = await passkeyOf('ann', 'Phone');
      benPasskey = await passkeyOf('ben', 'Key');
    });
    after(async () => { await t?.close(); });

    it('the script is served as one file with a hash in its address; the sign-in page loads it and hides its passkey offer until it runs', async () => {
      const page = await new Browser(t).go('GET', '/account/login/');
      assertPage(page, 200, /^Sign in$/);
      const src = page.body.match(/<script src="([^"]+)" defer><\/script>/)?.[1];
      assert.match(src ?? '', /^\/account\/passkeys\.js\?v=[\w-]{12}$/);
      assert.match(page.body, /<div class="passkey-offer" data-passkey-offer hidden><p>Or, without a password:<\/p><a class="button secondary" href="\/account\/login\/passkey\/">Sign in with a passkey<\/a><\/div>/);
      const script = await t.request({ method: 'GET', url: src! });
      assert.equal(script.statusCode, 200);
      assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(script.headers['x-content-type-options'], 'nosniff');
      assert.match(script.body, /SimpleWebAuthnBrowser/);
      assert.match(script.body, /data-passkey-offer/);
      // The page's `next` goes along to the passkey page, and a return path off this server does not.
      assert.match((await new Browser(t).go('GET', '/account/login/?next=/account/security/')).body, /href="\/account\/login\/passkey\/\?next=%2Faccount%2Fsecurity%2F"/);
      assert.doesNotMatch((await new Browser(t).go('GET', '/account/login/?next=//evil.example/')).body, /evil/);
    });

    it('the passkey sign-in page carries fresh options for any discoverable passkey of this relying party; posted without an answer, with a bad one, or without the form token, it signs nobody in', async () => {
      const b = new Browser(t);
      const first = await b.go('GET', '/account/login/passkey/');
      assertPage(first, 200, /^Sign in with a passkey$/);
      const o1 = optionsOf(first.body);
      assert.equal(o1.rpId, 'latchkey.test');
      assert.deepEqual(o1.allowCredentials ?? [], [], 'no account is named before the passkey names it');
      assert.match(first.body, /<noscript><p class="alert">Passkeys need JavaScript/);
      assert.match(first.body, /<button type="submit" hidden>Use a passkey<\/button>/);
      const o2 = optionsOf((await b.go('GET', '/account/login/passkey/')).body);
      assert.notEqual(o1.challenge, o2.challenge, 'a new challenge each time');

      const token = b.jar.get('latchkey_form')!.value;
      assertPage(await b.go('POST', '/account/login/passkey/', { credential: '{}' }), 403, /expired/);
      const none = await b.go('POST', '/account/login/passkey/', { csrf_token: token, credential: '' });
      assertPage(none, 400, /^Sign in with a passkey$/);
      assert.match(text(none.body), /Passkeys need JavaScript/);
      for (const credential of ['not json', '[]', JSON.stringify({ id: idOf('ann', 'Phone'), response: { clientDataJSON: 'e30' } }), JSON.stringify({ id: 'x', response: { clientDataJSON: Buffer.from(JSON.stringify({ challenge: o2.challenge })).toString('base64url') } })]) {
        const bad = await b.go('POST', '/account/login/passkey/', { csrf_token: token, credential });
        assertPage(bad, 400, /^Sign in with a passkey$/);
        assert.match(text(bad.body), /That passkey was not accepted/);
      }
      assert.ok(!b.jar.has('sessionid'), 'no session');
      // A challenge is used up by the answer that names it, good or bad.
      const again = await b.go('POST', '/account/login/passkey/', { csrf_token: token, credential: JSON.stringify({ id: idOf('ann', 'Phone'), response: { clientDataJSON: Buffer.from(JSON.stringify({ challenge: o2.challenge })).toString('base64url') } }) });
      assert.match(text(again.body), /not accepted/);
    });

    it('the second step offers a passkey to a user who has one; its page carries that user\'s passkeys only; without a flow it sends to the sign-in', async () => {
      const stray = new Browser(t);
      const away = await stray.go('GET', '/account/login/code/passkey/');
      assert.deepEqual([away.statusCode, away.headers.location], [303, '/account/login/']);
      const { b, token } = await atSecondStep();
      const code = await b.go('GET', '/account/login/code/');
      assertPage(code, 200, /^Enter your code$/);
      assert.match(code.body, /<p class="passkey-offer" data-passkey-offer hidden><a href="\/account\/login\/code\/passkey\/">Use a passkey instead<\/a><\/p>/);
      const page = await b.go('GET', '/account/login/code/passkey/');
      assertPage(page, 200, /^Confirm with your passkey$/);
      assert.deepEqual(optionsOf(page.body).allowCredentials.map((c: { id: string }) => c.id), [idOf('ann', 'Phone')]);
      const bad = await b.go('POST', '/account/login/code/passkey/', { csrf_token: token, credential: JSON.stringify({ id: idOf('ben', 'Key') }) });
      assertPage(bad, 400, /^Confirm with your passkey$/);
      assert.match(text(bad.body), /That passkey was not accepted/);
      assert.ok(!b.jar.has('sessionid'));
      assertPage(await b.go('POST', '/account/login/code/passkey/', { credential: '{}' }), 403, /expired/);
      // The flow still waits: the code page is still there.
      assert.equal((await b.go('GET', '/account/login/code/')).statusCode, 200);
    });

    it('the Security page lists the user\'s passkeys with rename and remove; another user\'s passkey is not found; a bad name is refused; an older session must confirm first', async () => {
      // Cat signs in with a password alone, then gets passkeys (as if added in another tab).
      const b = new Browser(t);
      const { token, r } = await signIn(b, 'cat');
      assert.equal(r.statusCode, 303);
      noteSecret(b.jar.get('sessionid')!.value);
      const empty = await b.go('GET', '/account/security/');
      assertPage(empty, 200, /^Security$/);
      assert.match(text(empty.body), /You have no passkeys yet/);
      assert.match(empty.body, /<p data-passkey-offer hidden><a class="button" href="\/account\/security\/passkeys\/add\/">Add a passkey<\/a><\/p>/);
      const add = await b.go('GET', '/account/security/passkeys/add/');
      assertPage(add, 200, /^Add a passkey$/);
      const creation = optionsOf(add.body);
      assert.equal(creation.rp.id, 'latchkey.test');
      assert.equal(creation.attestation, 'none');
      assertPage(await b.go('POST', '/account/security/passkeys/add/', { name: 'x', credential: '{}' }), 403, /expired/);
      const noAnswer = await b.go('POST', '/account/security/passkeys/add/', { csrf_token: token, name: 'Laptop', credential: '' });
      assertPage(noAnswer, 400, /^Add a passkey$/);
      assert.match(text(noAnswer.body), /Passkeys need JavaScript/);
      const badName = await b.go('POST', '/account/security/passkeys/add/', { csrf_token: token, name: 'n'.repeat(101), credential: '{"id":"x"}' });
      assertPage(badName, 400, /^Add a passkey$/);
      assert.match(badName.body, /id="f-name"[^>]*aria-invalid="true"/);
      const badAnswer = await b.go('POST', '/account/security/passkeys/add/', { csrf_token: token, name: 'Laptop', credential: '{"id":"x","response":{}}' });
      assert.match(text(badAnswer.body), /could not be added/);

      const laptop = await passkeyOf('cat', 'Laptop');
      await passkeyOf('cat', 'Key <b>2</b>');
      const listed = await b.go('GET', '/account/security/');
      assertPage(listed, 200, /^Security$/);
      assert.match(listed.body, /<strong>Laptop<\/strong>/);
      assert.match(listed.body, /<strong>Key &lt;b&gt;2&lt;\/b&gt;<\/strong>/, 'a name is text');
      assert.match(text(listed.body), /signs in without a password/);
      assert.match(listed.body, /<label for="f-pk-\d+">Name of “Laptop”<\/label>/);
      assert.match(listed.body, />Remove “Laptop”<\/button>/);
      // The creation options leave out the passkeys the user has.
      assert.deepEqual(optionsOf((await b.go('GET', '/account/security/passkeys/add/')).body).excludeCredentials.map((c: { id: string }) => c.id).sort(), [idOf('cat', 'Key <b>2</b>'), idOf('cat', 'Laptop')].sort());

      for (const path of ['rename', 'remove']) {
        assertPage(await b.go('POST', `/account/security/passkeys/${path}/`, { id: String(laptop), name: 'x' }), 403, /expired/);
        for (const id of [String(benPasskey), String(annPasskey), 'nope', '']) {
          const other = await b.go('POST', `/account/security/passkeys/${path}/`, { csrf_token: token, id, name: 'Mine now' });
          assertPage(other, 404);
          assert.match(text(other.body), /not one of yours/);
        }
      }
      const benNow = (await t.core.secondFactors.list((await t.store.read.users.findByUsername((await t.core.tenants.resolve(undefined)).pk, 'ben'))!)).find((a) => a.id === benPasskey);
      assert.equal(benNow?.name, 'Key', 'ben\'s passkey is untouched');

      const refused = await b.go('POST', '/account/security/passkeys/rename/', { csrf_token: token, id: String(laptop), name: '   ' });
      assert.deepEqual([refused.statusCode, refused.headers.location], [303, '/account/security/?refused=passkey-name']);
      assert.match(text((await b.go('GET', '/account/security/?refused=passkey-name')).body), /1 to 100 characters/);
      const renamed = await b.go('POST', '/account/security/passkeys/rename/', { csrf_token: token, id: String(laptop), name: 'Work laptop' });
      assert.equal(renamed.headers.location, '/account/security/?done=passkey-renamed');
      assert.match((await b.go('GET', renamed.headers.location as string)).body, /<strong>Work laptop<\/strong>/);

      // Five minutes on: a removal asks to confirm first (a passkey is offered among the ways), and removes nothing yet.
      clock.advance(301_000);
      const asked = await b.go('POST', '/account/security/passkeys/remove/', { csrf_token: token, id: String(laptop) });
      assert.deepEqual([asked.statusCode, asked.headers.location], [303, '/account/security/reauthenticate/?next=%2Faccount%2Fsecurity%2F']);
      const reauth = await b.go('GET', asked.headers.location as string);
      assertPage(reauth, 200, /^Confirm it is you$/);
      assert.match(reauth.body, /href="\/account\/security\/reauthenticate\/passkey\/\?next=%2Faccount%2Fsecurity%2F">Confirm with a passkey/);
      const reauthPasskey = await b.go('GET', '/account/security/reauthenticate/passkey/?next=//evil.example/');
      assertPage(reauthPasskey, 200, /^Confirm it is you$/);
      assert.match(reauthPasskey.body, /name="next" value="\/account\/security\/"/, 'next stays on the Security pages');
      assert.equal(optionsOf(reauthPasskey.body).allowCredentials.length, 2);
      const wrong = await b.go('POST', '/account/security/reauthenticate/passkey/', { csrf_token: token, next: '/account/security/', credential: JSON.stringify({ id: idOf('cat', 'Laptop') }) });
      assertPage(wrong, 400, /^Confirm it is you$/);
      assert.equal((await t.core.secondFactors.list((await t.store.read.users.findByUsername((await t.core.tenants.resolve(undefined)).pk, 'cat'))!)).filter((a) => a.type === 'webauthn').length, 2, 'nothing removed');
      // The password confirms too; then the removal goes through.
      await b.go('POST', '/account/security/reauthenticate/', { csrf_token: token, next: '/account/security/', method: 'password', password: PW });
      const removed = await b.go('POST', '/account/security/passkeys/remove/', { csrf_token: token, id: String(laptop) });
      assert.equal(removed.headers.location, '/account/security/?done=passkey-removed');
      const after = await b.go('GET', removed.headers.location as string);
      assert.match(text(after.body), /The passkey is removed/);
      assert.doesNotMatch(after.body, /Work laptop/);

      // Cat's session is the default tenant's: Acme's passkey pages send it to Acme's sign-in.
      const foreign = await b.go('GET', '/tenants/acme/account/security/passkeys/add/');
      assert.deepEqual([foreign.statusCode, foreign.headers.location], [303, '/tenants/acme/account/login/?next=%2Ftenants%2Facme%2Faccount%2Fsecurity%2F']);
    });
  });
}
