// Threat: telling accounts apart by how a wrong current password is answered. Both APIs that
// change one's own password (v1 `POST /api/auth/change-password`, REST-auth
// `POST /api/auth/password/change/` with `password_change_requires_old`) check the current
// password the same way: exactly one hash verification (a dummy one when the account has no
// password, e.g. one made for upstream sign-in only), the same words when it is wrong, and
// nothing changed; the right one sets the new password through the same rules (policy, the
// other sign-ins ended, the one used kept).
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { countingHasher, startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';

const PW = 'a-long-passphrase-3';
const NEW = 'an-even-longer-passphrase-4';
const WRONG = 'Your old password was entered incorrectly. Please enter it again.';

for (const { engine, skip } of engines) {
  describe(`changing one's password: one rule in both APIs [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    const { hasher, counts } = countingHasher();
    before(async () => {
      noteSecret(PW);
      noteSecret(NEW);
      t = await startApp(engine, { hasher });
      const tenant = await t.core.tenants.resolve(undefined);
      await t.store.transaction((r) => r.settings.put(tenant.pk, 'password_change_requires_old', 'true', Date.now()));
      t.core.settings.invalidate(tenant.pk);
    });
    after(async () => { await t?.close(); });
    beforeEach(() => { counts.hash = 0; counts.verify = 0; });

    /** A session cookie of a user, as a browser holds it (REST-auth login), and a Bearer token (v1). */
    const signIn = async (username: string) => {
      const login = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username, password: PW } });
      assert.equal(login.statusCode, 200, login.body);
      const pair = await t.login(username, PW);
      return { key: { authorization: `Token ${login.json().key}` }, bearer: pair.headers };
    };

    const apis = [
      { name: 'v1', url: '/api/auth/change-password', body: (current: string, next: string) => ({ current_password: current, new_password: next }), field: 'current_password', ok: 201 },
      { name: 'REST-auth', url: '/api/auth/password/change/', body: (current: string, next: string) => ({ old_password: current, new_password1: next, new_password2: next }), field: 'old_password', ok: 200 },
    ] as const;

    for (const api of apis) {
      it(`${api.name}: a wrong current password costs one verification and is answered as the other API answers it`, async () => {
        const name = `chg-${api.name.toLowerCase()}`;
        await t.createUser({ username: name, password: PW });
        const creds = await signIn(name);
        counts.hash = 0;
        counts.verify = 0;
        const r = await t.request({ method: 'POST', url: api.url, headers: api.name === 'v1' ? creds.bearer : creds.key, payload: api.body('not-my-password-1', NEW) });
        assert.equal(r.statusCode, 400, r.body);
        assert.deepEqual(r.json(), { [api.field]: [WRONG] });
        assert.deepEqual(counts, { hash: 0, verify: 1 });
        // The right one: set, the sign-in used kept, the other one ended.
        const ok = await t.request({ method: 'POST', url: api.url, headers: api.name === 'v1' ? creds.bearer : creds.key, payload: api.body(PW, NEW) });
        assert.equal(ok.statusCode, api.ok, ok.body);
        const kept = api.name === 'v1' ? creds.bearer : creds.key;
        const other = api.name === 'v1' ? creds.key : creds.bearer;
        assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: kept })).statusCode, 200);
        assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: other })).statusCode, 401);
        assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: name, password: NEW } })).statusCode, 200);
      });
    }

    it('an account without a password: both APIs run a dummy verification and answer as for a wrong one', async () => {
      const u = await t.createUser({ username: 'no-password-user' });
      // Signed in some other way (an upstream provider, later): a session is all it has.
      const session = await t.core.sessions.create(u);
      const cookie = { cookie: `sessionid=${session.cookie}`, 'x-csrftoken': session.csrfToken, origin: 'http://latchkey.test' };
      for (const api of apis) {
        counts.verify = 0;
        const r = await t.request({ method: 'POST', url: api.url, headers: cookie, payload: api.body('anything-at-all-1', NEW) });
        assert.equal(r.statusCode, 400, `${api.name}: ${r.body}`);
        assert.deepEqual(r.json(), { [api.field]: [WRONG] });
        assert.equal(counts.verify, 1, `${api.name}: one verification`);
      }
      assert.equal((await t.store.read.users.findByPk(u.pk))!.passwordHash, null, 'nothing was set');
    });
  });
}
