// Shared by the hosted pages' HTTP suites: a browser over inject() that keeps cookies, the
// checks every page answer must pass, and TOTP codes made by Debian's python3-pyotp.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from '../helpers/app.ts';
import { python, pythonSkip } from '../interop/support.ts';

export const pyotpSkip = pythonSkip(['pyotp']);

/** The code python3-pyotp makes from a base32 key (as typed from the page) at `ms`. */
export async function pyotpCode(secret: string, ms: number): Promise<string> {
  return await python('import os, json, pyotp\nprint(json.dumps(pyotp.TOTP(os.environ["SECRET"]).at(int(os.environ["AT"]))))', { SECRET: secret.replace(/\s+/g, ''), AT: String(Math.floor(ms / 1000)) }) as string;
}

/** A browser over inject(): keeps cookies (by name; paths ignored but for the reset cookie's). */
export class Browser {
  jar = new Map<string, { value: string; path: string }>();
  t: TestApp;
  headers: Record<string, string>;
  constructor(t: TestApp, headers: Record<string, string> = {}) {
    this.t = t;
    this.headers = headers;
  }
  async go(method: 'GET' | 'POST' | 'HEAD', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
    const path = url.split('?')[0]!;
    const cookie = [...this.jar.entries()].filter(([, c]) => path.startsWith(c.path)).map(([k, c]) => `${k}=${c.value}`).join('; ');
    const r = await this.t.request({
      method, url, headers: { ...this.headers, ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
    });
    for (const c of r.cookies as Array<{ name: string; value: string; path?: string; expires?: Date; maxAge?: number }>) {
      if (c.value === '' || (c.expires && c.expires.getTime() < Date.now()) || c.maxAge === 0) this.jar.delete(c.name);
      else this.jar.set(c.name, { value: c.value, path: c.path ?? '/' });
    }
    return r;
  }
  /** GETs a page and returns its form token. */
  async token(url: string): Promise<string> {
    const r = await this.go('GET', url);
    const m = r.body.match(/name="csrf_token" value="([^"]+)"/);
    if (!m) throw new Error(`no form token on ${url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
    return m[1]!;
  }
}

export const text = (body: string) => body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
export const title = (body: string) => body.match(/<h1>([^<]*)<\/h1>/)?.[1];

export function assertPage(r: LightMyRequestResponse, status: number, heading?: RegExp) {
  assert.equal(r.statusCode, status, `${status} expected: ${r.body.slice(0, 500)}`);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /style-src 'self'(;|$)/);
  // Script only from the pages' own file (the passkey part), never inline.
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const scripts = r.body.match(/<script\b[^>]*>[^<]*<\/script>/g) ?? [];
  for (const s of scripts) assert.match(s, /^<script src="\/account\/passkeys\.js\?v=[\w-]+" defer><\/script>$/);
  assert.equal((r.body.match(/<script\b/g) ?? []).length, scripts.length);
  assert.doesNotMatch(r.body, /style=/);
  if (heading) assert.match(title(r.body) ?? '', heading);
}

