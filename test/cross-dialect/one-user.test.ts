// One user is one user in every dialect: created through v1, AuthN or REST-auth registration
// (v2 has no create), it reads the same through all four; a change made in one shows in the
// others; `enabled` (v2) and `is_active` (AuthN) are one flag; `is_admin` (v2) is staff; a user
// disabled or deleted in one dialect is refused in all.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { assertError, basic, claims, dialectOf, restAuthLogin, v1Pair, v2Pair, v2Token } from '../tenancy/support.ts';

const PW = 'cross-dialect-pass-1';

interface Seen {
  uuid: string;
  pk: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  is_staff: boolean;
}

for (const { engine, skip } of engines) {
  describe(`one user in every dialect [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let staff: Record<string, string>;
    let n = 0;
    const uniq = (p: string) => `${p}${++n}`;

    /** Reads a user through all four dialects (staff for v1/AuthN/v2, the user itself for REST-auth) and checks they agree. */
    async function readEverywhere(username: string, password: string): Promise<Seen> {
      const own = await v1Pair(t, undefined, username, password);
      const uuid = claims(own.access).sub as string;
      const info = await t.request({ method: 'GET', url: '/user_info/', headers: own.bearer });
      assert.equal(info.statusCode, 200, info.body);
      const pk = info.json().id as number;
      const v1 = (await t.request({ method: 'GET', url: `/api/users/${uuid}/`, headers: staff })).json();
      const authn = (await t.request({ method: 'GET', url: `/user/${pk}/`, headers: staff })).json();
      const v2 = (await t.request({ method: 'GET', url: `/api/v2/users/${pk}`, headers: staff })).json();
      const rest = await restAuthLogin(t, undefined, username, password);
      const ra = (await t.request({ method: 'GET', url: '/api/auth/user/', headers: rest.token })).json();
      const v2me = (await t.request({ method: 'GET', url: '/api/v2/users/me', headers: (await v2Pair(t, undefined, username, password)).bearer })).json();

      assert.equal(v1.id, uuid);
      assert.equal(authn.id, pk);
      assert.equal(v2.id, pk);
      assert.equal(ra.pk, pk);
      assert.deepEqual(v2me, v2, 'v2 /me and /{uid} agree');
      for (const u of [v1, authn, v2, ra]) assert.equal(u.username, username);
      for (const f of ['email', 'first_name', 'last_name'] as const) {
        assert.equal(authn[f], v1[f], f);
        assert.equal(ra[f], v1[f], f);
      }
      assert.equal(v1.tenant_id, 'default');
      assert.equal(v2.enabled, authn.is_active);
      assert.equal(v2.is_admin, authn.is_staff);
      const { ...infoBody } = info.json();
      assert.deepEqual({ ...infoBody, token: '' }, { ...authn, token: '' }, '/user_info/ and /user/{id}/ agree');
      return { uuid, pk, username, email: v1.email, first_name: v1.first_name, last_name: v1.last_name, is_active: authn.is_active, is_staff: authn.is_staff };
    }

    before(async () => {
      t = await startApp(engine);
      await t.createUser({ username: 'staff', password: PW, isStaff: true });
      staff = (await v1Pair(t, undefined, 'staff', PW)).bearer;
      // A disabled user is tried in every dialect here, from one address: more refusals than the
      // sign-in throttle's and the per-address limit's defaults allow.
      for (const [key, value] of [['login_throttle_threshold', '100'], ['login_ip_limit', '1000']]) {
        const r = await t.request({ method: 'POST', url: '/api/configuration/', headers: staff, payload: { key, value } });
        assert.equal(r.statusCode, 201, r.body);
      }
    });
    after(async () => { await t?.close(); });

    it('a user created through v1, AuthN or REST-auth registration reads the same through all four dialects', async () => {
      const viaV1 = uniq('v1user');
      let r = await t.request({ method: 'POST', url: '/api/users/', headers: staff, payload: { username: viaV1, password: PW, email: `${viaV1}@example.com`, first_name: 'Vera', last_name: 'One' } });
      assert.equal(r.statusCode, 201, r.body);
      const a = await readEverywhere(viaV1, PW);
      assert.equal(a.uuid, r.json().id);
      assert.deepEqual([a.email, a.first_name, a.last_name, a.is_active, a.is_staff], [`${viaV1}@example.com`, 'Vera', 'One', true, false]);

      const viaAuthn = uniq('authnuser');
      r = await t.request({ method: 'POST', url: '/user/', headers: staff, payload: { username: viaAuthn, password: PW, email: `${viaAuthn}@example.com`, first_name: 'Ann', last_name: 'Two', profile: { k: 1 } } });
      assert.equal(r.statusCode, 201, r.body);
      const b = await readEverywhere(viaAuthn, PW);
      assert.equal(b.pk, r.json().id);
      assert.deepEqual([b.email, b.first_name, b.last_name], [`${viaAuthn}@example.com`, 'Ann', 'Two']);

      const viaRest = uniq('restuser');
      r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: viaRest, email: `${viaRest}@example.com`, password1: PW, password2: PW } });
      assert.equal(r.statusCode, 201, r.body);
      const c = await readEverywhere(viaRest, PW);
      assert.equal(c.email, `${viaRest}@example.com`);
      // The key registration answered is a credential of the same user in the other dialects.
      const info = await t.request({ method: 'GET', url: '/user_info/', headers: { authorization: `Token ${r.json().key}` } });
      assert.equal(info.json().id, c.pk);
      assert.equal((await t.request({ method: 'GET', url: '/api/v2/users/me', headers: { authorization: `Token ${r.json().key}` } })).json().id, c.pk);

      // Three distinct users, each once in every list.
      const list = (await t.request({ method: 'GET', url: '/api/users/', headers: staff })).json().resources.map((u: any) => u.username);
      const alist = (await t.request({ method: 'GET', url: '/user/', headers: staff })).json().results.map((u: any) => u.username);
      for (const name of [viaV1, viaAuthn, viaRest]) {
        assert.equal(list.filter((x: string) => x === name).length, 1);
        assert.equal(alist.filter((x: string) => x === name).length, 1);
      }
    });

    it('a change made through one dialect shows in the others (names, username, avatar, password)', async () => {
      const name = uniq('changing');
      await t.createUser({ username: name, password: PW, email: `${name}@example.com` });
      const seen = await readEverywhere(name, PW);
      // v1: first name.
      let r = await t.request({ method: 'PATCH', url: `/api/users/${seen.uuid}/`, headers: staff, payload: { first_name: 'Fromv1' } });
      assert.equal(r.statusCode, 200, r.body);
      // AuthN: last name and profile.
      r = await t.request({ method: 'PATCH', url: `/user/${seen.pk}/`, headers: staff, payload: { last_name: 'Fromauthn', profile: { source: 'authn' } } });
      assert.equal(r.statusCode, 200, r.body);
      // v2: username and avatar.
      r = await t.request({ method: 'PUT', url: `/api/v2/users/${seen.pk}`, headers: staff, payload: { username: `${name}-v2`, enabled: true, is_admin: false, avatar: 'https://img.example/p.png' } });
      assert.equal(r.statusCode, 200, r.body);
      let now = await readEverywhere(`${name}-v2`, PW);
      assert.deepEqual([now.uuid, now.pk, now.first_name, now.last_name], [seen.uuid, seen.pk, 'Fromv1', 'Fromauthn']);
      assert.deepEqual((await t.request({ method: 'GET', url: `/user/${seen.pk}/`, headers: staff })).json().profile, { source: 'authn' });
      // REST-auth: the user renames itself.
      const rest = await restAuthLogin(t, undefined, `${name}-v2`, PW);
      r = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers: rest.token, payload: { username: `${name}-ra`, first_name: 'Fromrest' } });
      assert.equal(r.statusCode, 200, r.body);
      now = await readEverywhere(`${name}-ra`, PW);
      assert.equal(now.first_name, 'Fromrest');
      assert.equal((await t.request({ method: 'GET', url: `/api/v2/users/${seen.pk}`, headers: staff })).json().avatar, 'https://img.example/p.png');
      // A password set in v2 is the password everywhere; one set in AuthN too.
      r = await t.request({ method: 'PUT', url: `/api/v2/users/${seen.pk}/password`, headers: staff, payload: { password: 'set-in-v2-pass-2' } });
      assert.equal(r.statusCode, 200, r.body);
      await readEverywhere(`${name}-ra`, 'set-in-v2-pass-2');
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: `${name}-ra`, password: PW } })).statusCode, 401);
      r = await t.request({ method: 'PATCH', url: `/user/${seen.pk}/`, headers: staff, payload: { password: 'set-in-authn-pass-3' } });
      assert.equal(r.statusCode, 200, r.body);
      await readEverywhere(`${name}-ra`, 'set-in-authn-pass-3');
    });

    it('`is_admin` (v2) is staff: AuthN shows is_staff and v1 grants staff rights', async () => {
      const name = uniq('promoted');
      await t.createUser({ username: name, password: PW });
      const seen = await readEverywhere(name, PW);
      const mine = await v1Pair(t, undefined, name, PW);
      assertError(await t.request({ method: 'POST', url: '/api/groups/', headers: mine.bearer, payload: { name: uniq('g') } }), 403, 'v1', 'before');
      assert.equal((await t.request({ method: 'GET', url: '/api/users/', headers: mine.bearer })).json().count, 1, 'sees itself only');
      const r = await t.request({ method: 'PUT', url: `/api/v2/users/${seen.pk}`, headers: staff, payload: { username: name, enabled: true, is_admin: true } });
      assert.equal(r.json().is_admin, true);
      const after = await readEverywhere(name, PW);
      assert.equal(after.is_staff, true);
      assert.equal((await t.request({ method: 'POST', url: '/api/groups/', headers: mine.bearer, payload: { name: uniq('g') } })).statusCode, 201, 'staff rights at once');
      assert.ok((await t.request({ method: 'GET', url: '/api/users/', headers: mine.bearer })).json().count > 1);
      assert.ok((await t.request({ method: 'GET', url: '/user/', headers: mine.bearer })).json().count > 1);
      // And back.
      await t.request({ method: 'PUT', url: `/api/v2/users/${seen.pk}`, headers: staff, payload: { username: name, enabled: true, is_admin: false } });
      assert.equal((await t.request({ method: 'GET', url: `/user/${seen.pk}/`, headers: staff })).json().is_staff, false);
      assertError(await t.request({ method: 'POST', url: '/api/groups/', headers: mine.bearer, payload: { name: uniq('g') } }), 403, 'v1', 'after demotion');
    });

    for (const via of ['v2 enabled=false', 'AuthN is_active=false'] as const) {
      it(`a user disabled through ${via} is refused in every dialect, and enabled again through the other`, async () => {
        const name = uniq('flag');
        await t.createUser({ username: name, password: PW });
        const seen = await readEverywhere(name, PW);
        const jwt = await v1Pair(t, undefined, name, PW);
        const v2 = await v2Pair(t, undefined, name, PW);
        const rest = await restAuthLogin(t, undefined, name, PW);

        const r = via.startsWith('v2')
          ? await t.request({ method: 'PUT', url: `/api/v2/users/${seen.pk}`, headers: staff, payload: { username: name, enabled: false, is_admin: false } })
          : await t.request({ method: 'PATCH', url: `/user/${seen.pk}/`, headers: staff, payload: { is_active: false } });
        assert.equal(r.statusCode, 200, r.body);
        assert.equal((await t.request({ method: 'GET', url: `/user/${seen.pk}/`, headers: staff })).json().is_active, false);
        assert.equal((await t.request({ method: 'GET', url: `/api/v2/users/${seen.pk}`, headers: staff })).json().enabled, false);

        // No sign-in anywhere...
        assertError(await t.request({ method: 'POST', url: '/api/token', payload: { username: name, password: PW } }), 401, 'v1', 'v1 sign-in');
        assert.equal(assertError(await v2Token(t, { username: name, password: PW }), 400, 'oauth', 'v2 sign-in').error, 'invalid_grant');
        assertError(await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } }), 400, 'rest-auth', 'REST-auth sign-in');
        for (const url of ['/api/users/', '/user_info/', '/api/v2/users/me', '/api/auth/user/']) {
          assertError(await t.request({ method: 'GET', url, headers: basic(name, PW) }), 401, dialectOf(url), `Basic ${url}`);
        }
        // ... and every credential it had is refused by every dialect.
        for (const [what, cred] of Object.entries({ 'v1 JWT': jwt.bearer, 'v2 JWT': v2.bearer, key: rest.token, session: rest.session })) {
          for (const url of ['/api/users/', '/user_info/', '/api/v2/users/me', '/api/auth/user/', `/user/${seen.pk}/`, `/api/v2/users/${seen.pk}`]) {
            assertError(await t.request({ method: 'GET', url, headers: cred }), 401, dialectOf(url), `${what} ${url}`);
          }
        }
        assertError(await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: jwt.refresh } }), 401, 'v1', 'v1 refresh');
        assert.equal((await v2Token(t, { grant_type: 'refresh_token', refresh_token: v2.refresh_token })).json().error, 'invalid_grant');

        // Enabled again through the other dialect: signs in everywhere.
        const back = via.startsWith('v2')
          ? await t.request({ method: 'PATCH', url: `/user/${seen.pk}/`, headers: staff, payload: { is_active: true } })
          : await t.request({ method: 'PUT', url: `/api/v2/users/${seen.pk}`, headers: staff, payload: { username: name, enabled: true, is_admin: false } });
        assert.equal(back.statusCode, 200, back.body);
        const again = await readEverywhere(name, PW);
        assert.equal(again.is_active, true);
      });
    }

    it('a user deleted through one dialect is gone from all', async () => {
      for (const via of ['AuthN', 'v1'] as const) {
        const name = uniq('gone');
        await t.createUser({ username: name, password: PW });
        const seen = await readEverywhere(name, PW);
        const v2 = await v2Pair(t, undefined, name, PW);
        const del = via === 'AuthN'
          ? await t.request({ method: 'DELETE', url: `/user/${seen.pk}/`, headers: staff })
          : await t.request({ method: 'DELETE', url: `/api/users/${seen.uuid}/`, headers: staff });
        assert.equal(del.statusCode, 204);
        assertError(await t.request({ method: 'GET', url: `/api/users/${seen.uuid}/`, headers: staff }), 404, 'v1', `${via}: v1`);
        assertError(await t.request({ method: 'GET', url: `/user/${seen.pk}/`, headers: staff }), 404, 'authn', `${via}: AuthN`);
        assertError(await t.request({ method: 'GET', url: `/api/v2/users/${seen.pk}`, headers: staff }), 404, 'v2', `${via}: v2`);
        assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: v2.bearer }), 401, 'v2', `${via}: its token`);
        assertError(await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } }), 400, 'rest-auth', `${via}: sign-in`);
      }
    });
  });
}
