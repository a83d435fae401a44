// Shared by the issue-4 suites (tenancy, clients, AuthN, v2, cross-dialect, interop): signing in
// through each dialect, in a chosen tenant, and checking each dialect's error shape.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../helpers/app.ts';

/** `application/x-www-form-urlencoded` of a flat object (undefined fields left out). */
export function form(fields: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) p.append(k, v);
  return p.toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** `X-Tenant: name`, or nothing for the default tenant. */
export const inTenant = (tenant: string | undefined): Record<string, string> => (tenant ? { 'x-tenant': tenant } : {});

export const basic = (id: string, secret: string) => ({ authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') });

/** POST /api/token (v1) in a tenant: the JWT pair. */
export async function v1Pair(t: TestApp, tenant: string | undefined, username: string, password: string, headers: Record<string, string> = {}) {
  const r = await t.request({ method: 'POST', url: '/api/token', headers: { ...inTenant(tenant), ...headers }, payload: { username, password } });
  assert.equal(r.statusCode, 200, `v1 sign-in of ${username} in ${tenant ?? 'default'}: ${r.body}`);
  const { access, refresh } = r.json();
  return { access: access as string, refresh: refresh as string, bearer: { authorization: `Bearer ${access}` } };
}

/** POST /token (v2), form-encoded; the raw answer. */
export function v2Token(t: TestApp, fields: Record<string, string | undefined>, headers: Record<string, string> = {}) {
  return t.request({ method: 'POST', url: '/token', headers: { ...FORM, ...headers }, payload: form(fields) });
}

/** POST /token password grant that must succeed: the token answer. */
export async function v2Pair(t: TestApp, tenant: string | undefined, username: string, password: string, extra: Record<string, string> = {}) {
  const r = await v2Token(t, { grant_type: 'password', username, password, ...extra }, inTenant(tenant));
  assert.equal(r.statusCode, 200, `v2 sign-in of ${username} in ${tenant ?? 'default'}: ${r.body}`);
  const body = r.json();
  return { ...body, bearer: { authorization: `Bearer ${body.access_token}` } } as {
    access_token: string; refresh_token: string; token_type: string; expires_in: number; scope?: string; bearer: { authorization: string };
  };
}

/** POST /api/auth/login/ (REST-auth) in a tenant: the token key and the session cookie with its CSRF token. */
export async function restAuthLogin(t: TestApp, tenant: string | undefined, username: string, password: string) {
  const r = await t.request({ method: 'POST', url: '/api/auth/login/', headers: inTenant(tenant), payload: { username, password } });
  assert.equal(r.statusCode, 200, `REST-auth sign-in of ${username} in ${tenant ?? 'default'}: ${r.body}`);
  const cookies = Object.fromEntries(r.cookies.map((c) => [c.name, c.value]));
  assert.ok(cookies.sessionid && cookies.csrftoken, 'session cookies set');
  return {
    key: r.json().key as string,
    token: { authorization: `Token ${r.json().key}` },
    sessionid: cookies.sessionid as string,
    /** Headers for a cookie-authenticated request, CSRF token included. */
    session: { cookie: `sessionid=${cookies.sessionid}`, 'x-csrftoken': cookies.csrftoken as string },
  };
}

export type Dialect = 'v1' | 'authn' | 'v2' | 'rest-auth' | 'oauth';

/** Which dialect answers a path, by its shape. */
export function dialectOf(url: string): Dialect {
  const path = url.split('?')[0]!;
  if (path === '/token') return 'oauth';
  if (path.startsWith('/api/v2/')) return 'v2';
  if (path === '/user_info/' || path.startsWith('/user/') || path === '/user') return 'authn';
  if (path.startsWith('/api/auth/') && !path.startsWith('/api/auth/change-password')) return 'rest-auth';
  return 'v1';
}

/** An error in the dialect's own shape, with this status. Answers the body. */
export function assertError(r: LightMyRequestResponse, status: number, dialect: Dialect, what = ''): any {
  assert.equal(r.statusCode, status, `${what}: expected ${status}, got ${r.statusCode}: ${r.body.slice(0, 400)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, `${what}: JSON error body`);
  const body = r.json();
  switch (dialect) {
    case 'authn':
      assert.deepEqual(Object.keys(body).sort(), ['errors', 'message', 'status'], `${what}: AuthN error shape ${r.body}`);
      assert.equal(body.status, status);
      assert.ok(Array.isArray(body.errors));
      assert.equal(typeof body.message, 'string');
      assert.ok(body.message.length > 0);
      for (const e of body.errors) assert.deepEqual(Object.keys(e).sort(), ['field', 'message']);
      break;
    case 'v2':
      assert.deepEqual(Object.keys(body), ['detail'], `${what}: FastAPI error shape ${r.body}`);
      if (status === 422) {
        assert.ok(Array.isArray(body.detail) && body.detail.length > 0);
        for (const d of body.detail) {
          assert.deepEqual(Object.keys(d).sort(), ['loc', 'msg', 'type'], `${what}: 422 item ${JSON.stringify(d)}`);
          assert.ok(Array.isArray(d.loc) && d.loc.length > 0);
        }
      } else assert.equal(typeof body.detail, 'string');
      break;
    case 'oauth':
      if (status === 422) return assertError(r, 422, 'v2', what);
      assert.deepEqual(Object.keys(body).sort(), ['detail', 'error', 'error_description'], `${what}: RFC 6749 error shape ${r.body}`);
      assert.equal(body.detail, body.error_description);
      assert.equal(r.headers['cache-control'], 'no-store');
      break;
    default:
      // Django REST framework: {detail} or {field: [messages]}.
      if (status === 400 && body.detail === undefined) {
        for (const v of Object.values(body)) assert.ok(Array.isArray(v) || typeof v === 'string', `${what}: DRF field errors ${r.body}`);
      } else assert.equal(typeof body.detail, 'string', `${what}: DRF detail ${r.body}`);
  }
  if (status === 401) assert.ok(r.headers['www-authenticate'], `${what}: 401 carries WWW-Authenticate`);
  return body;
}

/** The payload of a JWT, unchecked. */
export function claims(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
