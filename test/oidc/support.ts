// Shared by the OpenID provider suites: a whole server listening on a loopback port that is its
// PUBLIC_URL (so the issuer, discovery and redirects are real URLs a relying party can follow),
// a tenant's client registered over /api/clients/, and a browser without JavaScript: fetch with
// a cookie jar that follows redirects by hand and submits the page's form as typed.
import assert from 'node:assert/strict';
import * as oc from 'openid-client';
import { startApp, type TestApp } from '../helpers/app.ts';
import { OPERATOR, type Clock } from '../../src/core/index.ts';
import type { Engine } from '../helpers/engines.ts';
import { freePort } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';

export const PASSWORD = 'oidc-test-pass-phrase-1';
export const REDIRECT = 'http://127.0.0.1:9/callback';

export interface OidcApp {
  t: TestApp;
  base: string;
  issuer(tenant?: string): string;
  admin: { authorization: string };
  /** Registers a client in `tenant` through /api/clients/ (as the superuser). */
  client(input: { tenant?: string; confidential?: boolean; grant_types?: string[]; redirect_uris?: string[]; scopes?: string[]; name?: string; first_party?: boolean }): Promise<{ client_id: string; client_secret?: string }>;
  close(): Promise<void>;
}

export async function oidcApp(engine: Engine, opts: { clock?: Clock } = {}): Promise<OidcApp> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await startApp(engine, { publicUrl: base, clock: opts.clock });
  await t.app.listen({ host: '127.0.0.1', port });
  await t.createUser({ username: 'boss', password: PASSWORD, isStaff: true, isSuperuser: true });
  const { headers: admin } = await t.login('boss', PASSWORD);
  return {
    t, base, admin,
    issuer: (tenant) => (tenant ? `${base}/tenants/${tenant}` : base),
    async client(input) {
      if (input.tenant) {
        // The default tenant's superuser manages its own tenant over the API; another tenant's client is made by the operator.
        const tenant = await t.core.tenants.resolve(input.tenant);
        const made = await t.core.clients.create(OPERATOR, tenant, {
          name: input.name ?? 'Test app', grantTypes: input.grant_types ?? ['authorization_code', 'refresh_token'], redirectUris: input.redirect_uris ?? [REDIRECT],
          confidential: input.confidential ?? true, scopes: input.scopes, firstParty: input.first_party,
        });
        noteSecret(made.secret);
        return { client_id: made.client.clientId, ...(made.secret ? { client_secret: made.secret } : {}) };
      }
      const r = await t.request({
        method: 'POST', url: '/api/clients/', headers: { ...admin, ...(input.tenant ? { 'x-tenant': input.tenant } : {}) },
        payload: { name: input.name ?? 'Test app', grant_types: input.grant_types ?? ['authorization_code', 'refresh_token'], redirect_uris: input.redirect_uris ?? [REDIRECT], confidential: input.confidential ?? true, ...(input.scopes ? { scopes: input.scopes } : {}), ...(input.first_party !== undefined ? { first_party: input.first_party } : {}) },
      });
      if (r.statusCode !== 201) throw new Error(`client: ${r.statusCode} ${r.body}`);
      const body = r.json();
      noteSecret(body.client_secret);
      return body;
    },
    close: () => t.close(),
  };
}

/** A browser without JavaScript: cookies per host path, redirects followed by hand, forms posted as typed. */
export class Browser {
  private jar = new Map<string, { value: string; path: string }>();
  lastUrl = '';

  private cookieHeader(url: URL): string {
    return [...this.jar].filter(([, c]) => url.pathname.startsWith(c.path)).map(([k, c]) => `${k}=${c.value}`).join('; ');
  }

  private keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^max-age=0$/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, { value, path });
    }
  }

  /** One request; answers the response (its body read) without following a redirect. */
  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ status: number; location?: string; text: string; url: string }> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(u, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.keep(res);
    const text = await res.text();
    this.lastUrl = url;
    const loc = res.headers.get('location');
    return { status: res.status, location: loc ? new URL(loc, u).href : undefined, text, url };
  }

  /** Follows redirects within `base` until a page (2xx/4xx) or a redirect elsewhere (the app's callback). */
  async follow(url: string, base: string, init: { method?: string; form?: Record<string, string> } = {}) {
    let r = await this.request(url, init);
    for (let i = 0; i < 10 && r.location && r.location.startsWith(base); i++) r = await this.request(r.location);
    return r;
  }
}

/** The first form of a page: its action (absolute) and its fields' current values. */
export function formOf(page: { text: string; url: string }): { action: string; fields: Record<string, string> } {
  const m = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(page.text);
  if (!m) throw new Error(`no form on the page: ${page.text.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const input of m[2]!.matchAll(/<input[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name) fields[name] = value.replace(/&#(\d+);/g, (_m, c) => String.fromCharCode(Number(c))).replace(/&amp;/g, '&');
  }
  return { action: new URL(m[1]!.replace(/&amp;/g, '&'), page.url).href, fields };
}

/** Signs in through the pages as a browser would and answers the callback URL the provider redirected to. */
export async function codeFlow(app: OidcApp, config: oc.Configuration, opts: { scope: string; username: string; browser?: Browser; extra?: Record<string, string> }) {
  const verifier = oc.randomPKCECodeVerifier();
  const state = oc.randomState();
  const url = oc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: opts.scope, state, code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...opts.extra,
  });
  const browser = opts.browser ?? new Browser();
  let page = await browser.follow(url.href, app.base);
  if (page.status === 200 && page.text.includes('name="password"')) {
    const form = formOf(page);
    noteSecret(PASSWORD);
    page = await browser.follow(form.action, app.base, { form: { ...form.fields, login: opts.username, password: PASSWORD } });
  }
  if (page.status === 200 && page.text.includes('name="decision"')) {
    const form = formOf(page);
    page = await browser.follow(form.action, app.base, { form: { ...form.fields, decision: 'allow' } });
  }
  assert.ok(page.location?.startsWith(REDIRECT), `expected the callback, got ${page.status} ${page.location} ${page.text.slice(0, 300)}`);
  return { callback: new URL(page.location!), verifier, state, browser };
}

