// Shared by the v1 API suites (seed 000, "Authentication v1.0.0"): a server with a superuser,
// a staff user and a plain user already signed in, and checks of DRF's shapes.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { Engine } from '../helpers/engines.ts';
import { startApp, PUBLIC_URL, type TestApp } from '../helpers/app.ts';
import type { Clock, User } from '../../src/core/index.ts';

export { PUBLIC_URL };
export const PASSWORD = 'correct-horse-battery';
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The fields of the document's User schema, and nothing else. */
export const USER_FIELDS = ['email', 'first_name', 'id', 'last_name', 'tenant_id', 'username'];

export interface Signed {
  user: User;
  access: string;
  refresh: string;
  headers: { authorization: string };
}

export interface V1App extends TestApp {
  root: Signed;
  staff: Signed;
  joe: Signed;
  /** Creates a user (password PASSWORD unless given) and signs it in. */
  signed(username: string, extra?: { isStaff?: boolean; isSuperuser?: boolean; password?: string }): Promise<Signed>;
}

export async function startV1(engine: Engine, opts: { clock?: Clock } = {}): Promise<V1App> {
  const t = await startApp(engine, opts);
  const signed = async (username: string, extra: { isStaff?: boolean; isSuperuser?: boolean; password?: string } = {}): Promise<Signed> => {
    const password = extra.password ?? PASSWORD;
    const user = await t.createUser({ username, password, isStaff: extra.isStaff, isSuperuser: extra.isSuperuser, email: `${username}@example.com` });
    const { access, refresh, headers } = await t.login(username, password);
    return { user, access, refresh, headers };
  };
  return Object.assign(t, {
    root: await signed('root', { isStaff: true, isSuperuser: true }),
    staff: await signed('staff', { isStaff: true }),
    joe: await signed('joe'),
    signed,
  });
}

/** A DRF error with a `detail`: the status, and the message when given. */
export function assertDetail(r: LightMyRequestResponse, status: number, detail?: string | RegExp): void {
  assert.equal(r.statusCode, status, `expected ${status}, got ${r.statusCode}: ${r.body}`);
  const body = r.json();
  assert.equal(typeof body.detail, 'string', `a detail message: ${r.body}`);
  if (typeof detail === 'string') assert.equal(body.detail, detail);
  else if (detail) assert.match(body.detail, detail);
  if (status === 401) assert.ok(r.headers['www-authenticate'], '401 carries WWW-Authenticate');
}

/** A DRF validation error: 400 and `{"field": ["message", ...]}` for exactly these fields. */
export function assertFieldErrors(r: LightMyRequestResponse, fields: string[]): Record<string, string[]> {
  assert.equal(r.statusCode, 400, `expected 400, got ${r.statusCode}: ${r.body}`);
  const body = r.json();
  assert.deepEqual(Object.keys(body).sort(), [...fields].sort(), `fields of ${r.body}`);
  for (const f of fields) {
    assert.ok(Array.isArray(body[f]) && body[f].length > 0, `${f} holds a list of messages: ${r.body}`);
    for (const m of body[f]) assert.ok(typeof m === 'string' && m.length > 0);
  }
  return body;
}

/** A user as the v1 API shows it: exactly the documented fields, never a password or hash. */
export function assertUserJson(u: Record<string, unknown>, expected: Partial<Record<string, string>> = {}): void {
  assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
  assert.match(String(u.id), UUID_RE);
  for (const [k, v] of Object.entries(expected)) assert.equal(u[k], v, k);
  assertNoSecrets(JSON.stringify(u));
}

/** No password, hash or hash-looking text in an answer. */
export function assertNoSecrets(text: string, ...secrets: string[]): void {
  assert.ok(!/password/i.test(text), `"password" in ${text.slice(0, 300)}`);
  assert.ok(!text.includes('$argon2'), `a hash in ${text.slice(0, 300)}`);
  for (const s of secrets) assert.ok(!text.includes(s), `a secret in ${text.slice(0, 300)}`);
}

/** The payload of a JWT, unchecked. */
export function jwtPayload(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
}

export async function countRows(t: TestApp, table: 'users' | 'groups' | 'group_members' | 'settings' | 'sessions' | 'token_families'): Promise<number> {
  const [{ n }] = await t.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).execute();
  return Number(n);
}

/** `path` with or without its trailing slash (query kept). */
export function slash(path: string, withSlash: boolean): string {
  const [p, q] = path.split('?') as [string, string | undefined];
  const bare = p.replace(/\/+$/, '');
  return (withSlash ? `${bare}/` : bare) + (q === undefined ? '' : `?${q}`);
}
