// Shared by the attack suites: a real server listening on a loopback port, plain fetch() calls,
// and the probes each dialect answers an authenticated request with.
import type { Engine } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import type { Clock, PasswordHasher } from '../../src/core/index.ts';
import type { Mailer } from '../../src/core/mail/mailer.ts';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: any;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Sent as JSON (content-type application/json). */
  json?: unknown;
  /** Sent form-encoded (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** Sent as is. */
  raw?: string | Buffer;
  bearer?: string;
  cookie?: string;
  /** `manual`: a redirect is the answer (its Location may be another site, such as an upstream provider's). */
  redirect?: 'follow' | 'manual';
}

export interface Live {
  t: TestApp;
  base: string;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

export async function startLive(engine: Engine, opts: { clock?: Clock; hasher?: PasswordHasher; mailer?: Mailer } = {}): Promise<Live> {
  const t = await startApp(engine, opts);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = t.app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('server has no port');
  const base = `http://127.0.0.1:${addr.port}`;
  return {
    t,
    base,
    call: (method, path, o = {}) => call(base, method, path, o),
    close: () => t.close(),
  };
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (o.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.raw !== undefined) {
    body = typeof o.raw === "string" ? o.raw : new Uint8Array(o.raw);
  }
  if (o.bearer !== undefined) headers.authorization = `Bearer ${o.bearer}`;
  if (o.cookie !== undefined) headers.cookie = o.cookie;
  const r = await fetch(base + path, { method, headers, body, redirect: o.redirect ?? 'follow' });
  const text = await r.text();
  let parsed: any;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, headers: r.headers, text, body: parsed };
}

export const PASSWORD = 'correct-horse-battery-staple';

/** Signs in through the v1 API (POST /api/token). */
export async function v1Login(live: Live, username: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const r = await live.call('POST', '/api/token', { json: { username, password }, headers });
  if (r.status !== 200) throw new Error(`v1 login failed: ${r.status} ${r.text}`);
  return r.body as { access: string; refresh: string };
}

/** Signs in through the OAuth2 v2 API (POST /token, form-encoded). */
export async function v2Login(live: Live, username: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const r = await live.call('POST', '/token', { form: { grant_type: 'password', username, password }, headers });
  if (r.status !== 200) throw new Error(`v2 login failed: ${r.status} ${r.text}`);
  return { access: r.body.access_token as string, refresh: r.body.refresh_token as string };
}

/**
 * One authenticated read per dialect ("who am I"), and the exact body each answers a token
 * that is not valid with. `message` is the core's TOKEN_INVALID message where the dialect shows it.
 */
export interface Probe {
  dialect: string;
  path: (user: { id: string; pk: number }) => string;
  /** The 401 body for an access token that does not verify (or no longer stands), by core message. */
  invalid: (message: string) => unknown;
}

export const TOKEN_NOT_VALID = 'Given token not valid for any token type';
export const USER_GONE = 'User not found or inactive';
export const REVOKED = 'Token has been revoked';

export const probes: Probe[] = [
  { dialect: 'v1', path: (u) => `/api/users/${u.id}/`, invalid: (m) => ({ detail: m, code: 'token_not_valid' }) },
  { dialect: 'authn', path: () => '/user_info/', invalid: (m) => ({ errors: [], message: m, status: 401 }) },
  { dialect: 'oauth2-v2', path: () => '/api/v2/users/me', invalid: () => ({ detail: 'Could not validate credentials' }) },
  { dialect: 'rest-auth', path: () => '/api/auth/user/', invalid: (m) => ({ detail: m, code: 'token_not_valid' }) },
];
