// Every endpoint of seed 000 ("Authentication v1.0.0") at its path, with and without the
// trailing slash: status codes (201 on create, 204 on delete, 200 elsewhere), the document's
// field names, and no password or hash in any answer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import {
  startV1, assertUserJson, assertNoSecrets, jwtPayload, slash, PASSWORD, PUBLIC_URL, UUID_RE, type V1App,
} from './v1-support.ts';
import { SETTING_KEYS } from '../../src/core/index.ts';

for (const { engine, skip } of engines) {
  describe(`v1 endpoints [${engine.name}]`, { skip }, () => {
    let t: V1App;
    before(async () => { t = await startV1(engine); });
    after(async () => { await t?.close(); });

    for (const withSlash of [true, false]) {
      const p = (path: string) => slash(path, withSlash);
      const label = withSlash ? 'with' : 'without';

      it(`users: list, create (201), retrieve, update, partial update, destroy (204) ${label} the trailing slash`, async () => {
        const h = t.staff.headers;
        const username = `made-${label}`;
        const created = await t.request({
          method: 'POST', url: p('/api/users/'), headers: h,
          payload: { username, password: PASSWORD, first_name: 'Ada', last_name: 'Lovelace', email: `${username}@Example.COM` },
        });
        assert.equal(created.statusCode, 201, created.body);
        const u = created.json();
        assertUserJson(u, { username, tenant_id: 'default', first_name: 'Ada', last_name: 'Lovelace', email: `${username}@example.com` });

        const list = await t.request({ method: 'GET', url: p('/api/users/'), headers: h });
        assert.equal(list.statusCode, 200);
        const page = list.json();
        assert.deepEqual(Object.keys(page).sort(), ['count', 'next', 'previous', 'resources']);
        assert.ok(page.resources.some((x: any) => x.id === u.id));
        for (const x of page.resources) assertUserJson(x);

        const got = await t.request({ method: 'GET', url: p(`/api/users/${u.id}/`), headers: h });
        assert.equal(got.statusCode, 200);
        assert.deepEqual(got.json(), u);

        const put = await t.request({ method: 'PUT', url: p(`/api/users/${u.id}/`), headers: h, payload: { first_name: 'Augusta', last_name: 'King', email: 'ada@example.org', tenant_id: 'default' } });
        assert.equal(put.statusCode, 200, put.body);
        assertUserJson(put.json(), { id: u.id, username, first_name: 'Augusta', last_name: 'King', email: 'ada@example.org' });

        const patch = await t.request({ method: 'PATCH', url: p(`/api/users/${u.id}/`), headers: h, payload: { last_name: 'Byron' } });
        assert.equal(patch.statusCode, 200, patch.body);
        assertUserJson(patch.json(), { first_name: 'Augusta', last_name: 'Byron' });
        // Read-only fields are accepted when unchanged (a client echoing what it got).
        const echo = await t.request({ method: 'PUT', url: p(`/api/users/${u.id}/`), headers: h, payload: patch.json() });
        assert.equal(echo.statusCode, 200, echo.body);

        const del = await t.request({ method: 'DELETE', url: p(`/api/users/${u.id}/`), headers: h });
        assert.equal(del.statusCode, 204);
        assert.equal(del.body, '');
        assert.equal((await t.request({ method: 'GET', url: p(`/api/users/${u.id}/`), headers: h })).statusCode, 404);
      });

      it(`groups and members: list, create (201), retrieve, update, partial update, members, destroy (204) ${label} the trailing slash`, async () => {
        const h = t.staff.headers;
        const created = await t.request({ method: 'POST', url: p('/api/groups/'), headers: h, payload: { name: `g-${label}` } });
        assert.equal(created.statusCode, 201, created.body);
        const g = created.json();
        assert.deepEqual(Object.keys(g).sort(), ['id', 'name']);
        assert.match(g.id, UUID_RE);
        assert.equal(g.name, `g-${label}`);

        const list = await t.request({ method: 'GET', url: p('/api/groups/'), headers: h });
        assert.equal(list.statusCode, 200);
        assert.deepEqual(Object.keys(list.json()).sort(), ['count', 'next', 'previous', 'resources']);
        assert.ok(list.json().resources.some((x: any) => x.id === g.id && x.name === g.name));

        const got = await t.request({ method: 'GET', url: p(`/api/groups/${g.id}/`), headers: h });
        assert.equal(got.statusCode, 200);
        assert.deepEqual(got.json(), g);
        const put = await t.request({ method: 'PUT', url: p(`/api/groups/${g.id}/`), headers: h, payload: { name: `put-${label}` } });
        assert.equal(put.statusCode, 200, put.body);
        assert.deepEqual(put.json(), { id: g.id, name: `put-${label}` });
        const patch = await t.request({ method: 'PATCH', url: p(`/api/groups/${g.id}/`), headers: h, payload: { name: `patch-${label}` } });
        assert.equal(patch.statusCode, 200, patch.body);
        assert.deepEqual(patch.json(), { id: g.id, name: `patch-${label}` });

        const add = await t.request({ method: 'POST', url: p(`/api/groups/${g.id}/members/`), headers: h, payload: { id: t.joe.user.id } });
        assert.equal(add.statusCode, 201, add.body);
        assertUserJson(add.json(), { id: t.joe.user.id, username: 'joe' });
        const members = await t.request({ method: 'GET', url: p(`/api/groups/${g.id}/members/`), headers: h });
        assert.equal(members.statusCode, 200);
        assert.equal(members.json().count, 1);
        assertUserJson(members.json().resources[0], { id: t.joe.user.id });
        const rm = await t.request({ method: 'DELETE', url: p(`/api/groups/${g.id}/members/${t.joe.user.id}/`), headers: h });
        assert.equal(rm.statusCode, 204);
        assert.equal(rm.body, '');

        const del = await t.request({ method: 'DELETE', url: p(`/api/groups/${g.id}/`), headers: h });
        assert.equal(del.statusCode, 204);
        assert.equal(del.body, '');
        assert.equal((await t.request({ method: 'GET', url: p(`/api/groups/${g.id}/`), headers: h })).statusCode, 404);
      });

      it(`configuration: list and create (201) ${label} the trailing slash`, async () => {
        const h = t.staff.headers;
        const list = await t.request({ method: 'GET', url: p('/api/configuration/'), headers: h });
        assert.equal(list.statusCode, 200);
        assert.deepEqual(list.json().resources.map((r: any) => r.key), SETTING_KEYS);
        const set = await t.request({ method: 'POST', url: p('/api/configuration/'), headers: h, payload: { key: 'session_lifetime', value: '3600' } });
        assert.equal(set.statusCode, 201, set.body);
        assert.deepEqual(set.json(), { key: 'session_lifetime', value: '3600' });
      });

      it(`tokens: obtain, refresh, change password (201), logout (200, no body) ${label} the trailing slash`, async () => {
        const username = `tok-${label}`;
        await t.createUser({ username, password: PASSWORD });
        const obtained = await t.request({ method: 'POST', url: p('/api/token'), payload: { username, password: PASSWORD } });
        assert.equal(obtained.statusCode, 200, obtained.body);
        const pair = obtained.json();
        assert.deepEqual(Object.keys(pair).sort(), ['access', 'refresh']);
        assert.equal(jwtPayload(pair.access).iss, PUBLIC_URL);

        const refreshed = await t.request({ method: 'POST', url: p('/api/token/refresh'), payload: { refresh: pair.refresh } });
        assert.equal(refreshed.statusCode, 200, refreshed.body);
        const next = refreshed.json();
        assert.deepEqual(Object.keys(next).sort(), ['access', 'refresh']);
        const headers = { authorization: `Bearer ${next.access}` };

        const changed = await t.request({ method: 'POST', url: p('/api/auth/change-password'), headers, payload: { current_password: PASSWORD, new_password: 'fresh-password-1' } });
        assert.equal(changed.statusCode, 201, changed.body);
        assert.ok(!changed.body.includes(PASSWORD) && !changed.body.includes('fresh-password-1'));

        const out = await t.request({ method: 'POST', url: p('/api/token/logout'), headers });
        assert.equal(out.statusCode, 200, out.body);
        assert.equal(out.body, '');
        assert.equal((await t.request({ method: 'GET', url: p('/api/users/'), headers })).statusCode, 401);
      });
    }

    it('answers 404 in DRF\'s shape for paths that are not there', async () => {
      for (const url of ['/api/nope', '/api/users/x/y/z', '/api/token/nope']) {
        const r = await t.request({ method: 'GET', url, headers: t.staff.headers });
        assert.equal(r.statusCode, 404, url);
        assert.deepEqual(r.json(), { detail: 'Not found.' });
      }
    });

    it('never shows a password or hash in any user answer', async () => {
      const h = t.root.headers;
      const texts: string[] = [];
      const created = await t.request({ method: 'POST', url: '/api/users/', headers: h, payload: { username: 'secretive', password: 'my-very-own-secret' } });
      texts.push(created.body);
      const id = created.json().id;
      texts.push((await t.request({ method: 'GET', url: `/api/users/${id}/`, headers: h })).body);
      texts.push((await t.request({ method: 'GET', url: '/api/users/', headers: h })).body);
      texts.push((await t.request({ method: 'PATCH', url: `/api/users/${id}/`, headers: h, payload: { first_name: 'S' } })).body);
      const g = (await t.request({ method: 'POST', url: '/api/groups/', headers: h, payload: { name: 'secret-keepers' } })).json();
      texts.push((await t.request({ method: 'POST', url: `/api/groups/${g.id}/members/`, headers: h, payload: { username: 'secretive' } })).body);
      texts.push((await t.request({ method: 'GET', url: `/api/groups/${g.id}/members/`, headers: h })).body);
      for (const text of texts) assertNoSecrets(text, 'my-very-own-secret');
    });
  });
}
