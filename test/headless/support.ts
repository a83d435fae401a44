// Shared by the headless API's suites: the two clients as allauth's front-ends drive them (the app
// keeps `meta.session_token` and sends it as X-Session-Token; the browser keeps cookies and echoes
// `csrftoken` in X-CSRFToken), every answer checked against its route's response schema in the
// OpenAPI document the server serves (Ajv), and TOTP codes made by Debian's python3-pyotp.
import assert from 'node:assert/strict';
import { Ajv, type ValidateFunction } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../helpers/app.ts';
import { python, pythonSkip } from '../interop/support.ts';
import { noteSecret } from '../helpers/secret-log.ts';

export const pyotpSkip = pythonSkip(['pyotp']);
export const PW = 'a-long-passphrase-6';

/** The code python3-pyotp makes at `ms` from the otpauth:// URI Latchkey showed (parse_uri reads it as an app would). */
export async function pyotpCode(uri: string, ms: number): Promise<string> {
  return await python('import os, json, pyotp\nt = pyotp.parse_uri(os.environ["URI"])\nprint(json.dumps(t.at(int(os.environ["AT"]))))', { URI: uri, AT: String(Math.floor(ms / 1000)) }) as string;
}

/** Checks answers against the served OpenAPI document: an answer whose status or body it does not describe fails. */
export class SchemaCheck {
  private readonly ajv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly paths: Record<string, Record<string, any>>;
  checked = 0;

  constructor(doc: any) {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    this.ajv.addSchema({ ...doc, $id: 'doc' });
    this.paths = doc.paths;
  }

  static async of(t: TestApp): Promise<SchemaCheck> {
    const r = await t.request({ method: 'GET', url: '/api/schema' });
    assert.equal(r.statusCode, 200);
    return new SchemaCheck(r.json());
  }

  /** The document's path for a concrete URL (`/_allauth/app/v1/auth/login` -> `/_allauth/{client}/v1/auth/login`). */
  private pathOf(url: string): string {
    const path = url.split('?')[0]!.replace(/\/$/, '');
    if (this.paths[path]) return path;
    const generic = path.replace(/^\/_allauth\/(app|browser)\//, '/_allauth/{client}/');
    assert.ok(this.paths[generic], `no path in the OpenAPI document for ${url}`);
    return generic;
  }

  /** Whether the document's schema for this answer accepts `body` (for the checker's own test). */
  accepts(method: string, url: string, status: number, body: unknown): boolean {
    const path = this.pathOf(url);
    const esc = path.replace(/~/g, '~0').replace(/\//g, '~1');
    return this.ajv.validate({ $ref: `doc#/paths/${esc}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema` }, body) as boolean;
  }

  check(method: string, url: string, res: LightMyRequestResponse): void {
    const path = this.pathOf(url);
    const m = method.toLowerCase();
    const op = this.paths[path]![m];
    assert.ok(op, `${method} ${path} is not in the OpenAPI document`);
    const status = String(res.statusCode);
    assert.ok(op.responses?.[status], `${method} ${url} answered ${status}, which its schema does not list: ${res.body.slice(0, 300)}`);
    const key = `${path} ${m} ${status}`;
    const esc = path.replace(/~/g, '~0').replace(/\//g, '~1');
    const v = this.cache.get(key) ?? this.ajv.compile({ $ref: `doc#/paths/${esc}/${m}/responses/${status}/content/application~1json/schema` });
    this.cache.set(key, v);
    const body = res.json() as { status?: number };
    assert.ok(v(body), `${method} ${url} ${status} does not match its schema: ${JSON.stringify(v.errors?.slice(0, 3))}\n${res.body.slice(0, 500)}`);
    // The specification's own rule: `status` matches the HTTP status.
    assert.equal(body.status, res.statusCode, 'body.status is the HTTP status');
    this.checked++;
  }
}

export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The app client: `meta.session_token` kept and sent as X-Session-Token. */
export class AppClient {
  token: string | undefined;
  access: string | undefined;
  refresh: string | undefined;
  readonly t: TestApp;
  readonly schemas: SchemaCheck;
  readonly headers: Record<string, string>;
  constructor(t: TestApp, schemas: SchemaCheck, headers: Record<string, string> = {}) {
    this.t = t;
    this.schemas = schemas;
    this.headers = headers;
  }

  async call(c: Call): Promise<LightMyRequestResponse & { data: any }> {
    const url = `/_allauth/app/v1/${c.path}`;
    const res = await this.t.request({
      method: c.method, url, payload: c.body as any,
      headers: { ...this.headers, ...(this.token ? { 'x-session-token': this.token } : {}), ...(c.headers ?? {}) },
    });
    this.schemas.check(c.method, url, res);
    const data = res.json();
    if (data.meta?.session_token) this.token = data.meta.session_token;
    if (data.meta?.access_token) this.access = data.meta.access_token;
    if (data.meta?.refresh_token) this.refresh = data.meta.refresh_token;
    for (const s of [data.meta?.session_token, data.meta?.access_token, data.meta?.refresh_token]) if (s) noteSecret(s);
    if (res.statusCode === 410) this.token = undefined;
    return Object.assign(res, { data });
  }
}

/** The browser client: a cookie jar, and `csrftoken` echoed in X-CSRFToken on unsafe requests. */
export class BrowserClient {
  jar = new Map<string, string>();
  readonly t: TestApp;
  readonly schemas: SchemaCheck;
  readonly headers: Record<string, string>;
  constructor(t: TestApp, schemas: SchemaCheck, headers: Record<string, string> = {}) {
    this.t = t;
    this.schemas = schemas;
    this.headers = headers;
  }

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async call(c: Call & { csrf?: boolean }): Promise<LightMyRequestResponse & { data: any }> {
    const url = `/_allauth/browser/v1/${c.path}`;
    const unsafe = c.method !== 'GET';
    const csrf = this.jar.get('csrftoken');
    const res = await this.t.request({
      method: c.method, url, payload: c.body as any,
      headers: {
        ...this.headers, ...(this.jar.size ? { cookie: this.cookieHeader() } : {}),
        ...(unsafe && c.csrf !== false && csrf ? { 'x-csrftoken': csrf } : {}), ...(c.headers ?? {}),
      },
    });
    this.schemas.check(c.method, url, res);
    for (const ck of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const gone = ck.value === '' || (ck.maxAge !== undefined && ck.maxAge <= 0) || (ck.expires !== undefined && ck.expires.getTime() < Date.now() - 1000 && ck.maxAge === undefined && ck.value === '');
      if (gone) this.jar.delete(ck.name);
      else this.jar.set(ck.name, ck.value);
    }
    return Object.assign(res, { data: res.json() });
  }
}

export const flowIds = (data: any): string[] => (data?.data?.flows ?? []).map((f: any) => f.id);
export const pendingFlow = (data: any): string | undefined => (data?.data?.flows ?? []).find((f: any) => f.is_pending)?.id;
