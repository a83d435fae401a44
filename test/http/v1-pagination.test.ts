// Page-number pagination as Django REST framework's PageNumberPagination: `{count, next,
// previous, resources}`, absolute next/previous URLs, PAGE_SIZE items a page, and 404
// {"detail": "Invalid page."} for a page that is not a positive number or is past the end.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { engines } from '../helpers/engines.ts';
import { PAGE_SIZE } from '../../src/http/pagination.ts';
import { startV1, assertDetail, assertUserJson, PUBLIC_URL, type V1App } from './v1-support.ts';

const EXTRA_USERS = 150;
const EXTRA_GROUPS = PAGE_SIZE + 1;

for (const { engine, skip } of engines) {
  describe(`v1 pagination [${engine.name}]`, { skip }, () => {
    let t: V1App;
    let total: number;
    let groupId: string;

    before(async () => {
      t = await startV1(engine);
      // Many users and groups, cheaply: straight into the store, in one transaction.
      const tenantPk = (await t.core.tenants.resolve(undefined)).pk;
      const now = Date.now();
      await t.store.transaction(async (r) => {
        for (let i = 0; i < EXTRA_USERS; i++) {
          await r.users.insert({
            id: crypto.randomUUID(), tenantPk, username: `bulk${String(i).padStart(3, '0')}`, email: '', firstName: '', lastName: '',
            passwordHash: null, isActive: true, isStaff: false, isSuperuser: false, lastLogin: null, passwordChangedAt: null,
            profile: {}, emm: {}, avatar: null, emailVerified: false, createdAt: now, updatedAt: now,
          });
        }
        for (let i = 0; i < EXTRA_GROUPS; i++) {
          await r.groups.insert({ id: crypto.randomUUID(), tenantPk, name: `group${i}`, createdAt: now, updatedAt: now });
        }
      });
      total = EXTRA_USERS + 3; // root, staff, joe
      groupId = (await t.store.read.groups.findByName(tenantPk, 'group0'))!.id;
      const users = await t.store.read.users.list(tenantPk, { offset: 0, limit: 1000 });
      await t.store.transaction(async (r) => {
        for (const u of users.items) await r.groups.addMember((await r.groups.findById(groupId))!.pk, u.pk, now);
      });
    });
    after(async () => { await t?.close(); });

    const get = (url: string) => t.request({ method: 'GET', url, headers: t.staff.headers });
    /** Follows an absolute link of this server. */
    const follow = (link: string) => {
      assert.ok(link.startsWith(`${PUBLIC_URL}/`), `absolute link: ${link}`);
      return get(link.slice(PUBLIC_URL.length));
    };

    it(`serves ${PAGE_SIZE} users a page with absolute next/previous links, and the pages add up`, async () => {
      assert.equal(PAGE_SIZE, 100, 'the documented page size');
      const first = await get('/api/users/');
      assert.equal(first.statusCode, 200);
      const p1 = first.json();
      assert.deepEqual(Object.keys(p1), ['count', 'next', 'previous', 'resources']);
      assert.equal(p1.count, total);
      assert.equal(p1.resources.length, PAGE_SIZE);
      assert.equal(p1.previous, null);
      assert.equal(p1.next, `${PUBLIC_URL}/api/users/?page=2`);
      for (const u of p1.resources) assertUserJson(u);

      const second = await follow(p1.next);
      assert.equal(second.statusCode, 200);
      const p2 = second.json();
      assert.equal(p2.count, total);
      assert.equal(p2.resources.length, total - PAGE_SIZE);
      assert.equal(p2.next, null);
      assert.equal(p2.previous, `${PUBLIC_URL}/api/users/`, 'the link to page 1 drops the page parameter, as DRF does');
      assert.deepEqual((await follow(p2.previous)).json(), p1);

      const ids = [...p1.resources, ...p2.resources].map((u: any) => u.id);
      assert.equal(new Set(ids).size, total, 'no user twice, none missing');
      assert.deepEqual((await get('/api/users/?page=1')).json(), p1);
    });

    it('404 {"detail":"Invalid page."} for page 0, negatives, words, fractions and past the end', async () => {
      for (const page of ['0', '-1', 'abc', '1.5', '3', '99999', '1e2', ' 1']) {
        assertDetail(await get(`/api/users/?page=${encodeURIComponent(page)}`), 404, 'Invalid page.');
      }
      // An empty page parameter is the first page.
      assert.equal((await get('/api/users/?page=')).json().resources.length, PAGE_SIZE);
    });

    it('keeps the path form and other query parameters in its links', async () => {
      const p1 = (await get('/api/users?page=1')).json();
      assert.equal(p1.next, `${PUBLIC_URL}/api/users?page=2`);
      assert.equal((await follow(p1.next)).json().resources.length, total - PAGE_SIZE);
      const root = await t.request({ method: 'GET', url: '/api/users/?tenant_id=default', headers: t.root.headers });
      assert.equal(root.json().next, `${PUBLIC_URL}/api/users/?tenant_id=default&page=2`);
    });

    it('a plain user\'s list is one page of one', async () => {
      const body = (await t.request({ method: 'GET', url: '/api/users/', headers: t.joe.headers })).json() as Record<string, any>;
      assert.deepEqual({ ...body, resources: body.resources.length }, { count: 1, next: null, previous: null, resources: 1 });
      assertDetail(await t.request({ method: 'GET', url: '/api/users/?page=2', headers: t.joe.headers }), 404, 'Invalid page.');
    });

    it('pages groups and group members the same way', async () => {
      const g1 = (await get('/api/groups/')).json();
      assert.equal(g1.count, EXTRA_GROUPS);
      assert.equal(g1.resources.length, PAGE_SIZE);
      assert.equal(g1.next, `${PUBLIC_URL}/api/groups/?page=2`);
      const g2 = (await follow(g1.next)).json();
      assert.equal(g2.resources.length, EXTRA_GROUPS - PAGE_SIZE);
      assert.equal(g2.previous, `${PUBLIC_URL}/api/groups/`);
      assertDetail(await get('/api/groups/?page=3'), 404, 'Invalid page.');

      const m1 = (await get(`/api/groups/${groupId}/members/`)).json();
      assert.equal(m1.count, total);
      assert.equal(m1.resources.length, PAGE_SIZE);
      assert.equal(m1.next, `${PUBLIC_URL}/api/groups/${groupId}/members/?page=2`);
      assert.equal((await follow(m1.next)).json().resources.length, total - PAGE_SIZE);
      assertDetail(await get(`/api/groups/${groupId}/members/?page=0`), 404, 'Invalid page.');
    });

    it('configuration is one page', async () => {
      const c = (await get('/api/configuration/')).json();
      assert.equal(c.next, null);
      assert.equal(c.previous, null);
      assert.equal(c.count, c.resources.length);
      assertDetail(await get('/api/configuration/?page=2'), 404, 'Invalid page.');
      assertDetail(await get('/api/configuration/?page=abc'), 404, 'Invalid page.');
    });
  });
}
