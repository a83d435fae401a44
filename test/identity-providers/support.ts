// Upstream identity providers for the tests, on loopback ports: panva's oidc-provider (a
// certified OpenID provider no one here wrote) with its own development sign-in forms, and a
// small stand-in server that plays a preset's endpoints (OpenID Connect or GitHub's OAuth 2.0 and
// profile API) and can be told to answer wrongly (another audience, issuer or nonce).
import http from 'node:http';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { freePort } from '../helpers/processes.ts';
import { formOf } from '../oidc/support.ts';

/**
 * A browser without JavaScript that keeps cookies as browsers do, by host (not port), path and
 * name: two providers on one machine each keep their own `_interaction` cookie.
 */
export class Browser {
  private jar = new Map<string, { host: string; path: string; name: string; value: string }>();
  lastUrl = '';

  private keep(url: URL, res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const key = `${url.hostname}|${path}|${name}`;
      const expired = attrs.some((a) => /^max-age=0$/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || value === '') this.jar.delete(key);
      else this.jar.set(key, { host: url.hostname, path, name, value });
    }
  }

  /** The value of a cookie this browser keeps for `host`. */
  cookie(host: string, name: string): string | undefined {
    return [...this.jar.values()].find((c) => c.host === host && c.name === name)?.value;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<{ status: number; location?: string; text: string; url: string }> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    const cookie = [...this.jar.values()].filter((c) => c.host === u.hostname && u.pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`).join('; ');
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(u, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.keep(u, res);
    const text = await res.text();
    this.lastUrl = url;
    const loc = res.headers.get('location');
    return { status: res.status, location: loc ? new URL(loc, u).href : undefined, text, url };
  }
}

export interface UpstreamAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  amr?: string[];
}

/** oidc-provider on a loopback port, one confidential client whose redirect URIs are given. */
export async function startOidcProvider(opts: { clientId: string; clientSecret: string; redirectUris: string[]; accounts: Record<string, UpstreamAccount>; host?: 'localhost' }) {
  const port = await freePort();
  // `localhost` is another site than Latchkey's 127.0.0.1 for a browser's cookies.
  const issuer = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: opts.clientId, client_secret: opts.clientSecret, redirect_uris: opts.redirectUris, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...(opts.accounts[id] ?? {}) }) }),
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['test-cookie-key-upstream-0123456789'] },
  });
  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer, provider,
    /** Stops answering (an upstream that is down). */
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/**
 * Drives a browser from `start` through whatever sign-in forms come (oidc-provider's development
 * login and consent, Latchkey's own sign-in and consent pages) until a redirect for which `stop` is true or a page with no form.
 */
export async function browse(browser: Browser, start: string, a: { login?: string; password?: string; stop: (url: string) => boolean }) {
  let r = await browser.request(start);
  for (let i = 0; i < 30; i++) {
    if (r.location) {
      if (a.stop(r.location)) return r;
      r = await browser.request(r.location);
      continue;
    }
    if (r.status === 200 && /<form/.test(r.text)) {
      const form = formOf(r);
      const fields = { ...form.fields };
      if ('login' in fields || r.text.includes('name="login"')) fields.login = a.login ?? '';
      if (r.text.includes('name="password"')) fields.password = a.password ?? 'any';
      if (r.text.includes('name="decision"')) fields.decision = 'allow';
      r = await browser.request(form.action, { form: fields });
      continue;
    }
    return r;
  }
  throw new Error('too many steps');
}

/** A stand-in of a provider's endpoints. */
export interface StandIn {
  base: string;
  /** Who signs in at /authorize next (the stand-in has no forms). */
  account: { sub: string } & UpstreamAccount;
  /** What the stand-in posts as Apple's `user` with a form_post answer (Apple: the first time only). */
  postedUser?: string;
  /** The response_mode of the last authorization request. */
  lastResponseMode?: string | null;
  /** Spoils the next ID tokens and answers. */
  spoil: { aud?: string; iss?: string; nonce?: string; issParam?: string; down?: boolean; foreignKey?: boolean };
  /** An ID token as the provider's own SDK would hand an app. */
  mint(claims: Record<string, unknown> & { sub: string }, opts?: { aud?: string; foreignKey?: boolean; iss?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startStandIn(opts: { clientId: string; clientSecret: string }): Promise<StandIn> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const foreign = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { challenge: string; nonce: string; redirectUri: string; account: StandIn['account'] }>();
  const tokens = new Map<string, StandIn['account']>();
  const self: StandIn = {
    base, account: { sub: 'u1', email: 'someone@example.com', email_verified: true, name: 'Some One' }, spoil: {},
    mint: ({ sub, ...claims }, o = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(o.iss ?? base).setAudience(o.aud ?? opts.clientId)
      .setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(o.foreignKey ? foreign : privateKey),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    if (self.spoil.down) return json(res, 503, { error: 'temporarily_unavailable' });
    const url = new URL(req.url!, base);
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        return json(res, 200, {
          issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`, userinfo_endpoint: `${base}/userinfo`, jwks_uri: `${base}/jwks`,
          response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'],
          code_challenge_methods_supported: ['S256'], authorization_response_iss_parameter_supported: true, token_endpoint_auth_methods_supported: ['client_secret_post'],
        });
      case '/jwks':
        return json(res, 200, { keys: [jwk] });
      case '/authorize':
      case '/login/oauth/authorize': {
        assert.equal(url.searchParams.get('client_id'), opts.clientId);
        assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
        const code = crypto.randomBytes(16).toString('hex');
        codes.set(code, { challenge: url.searchParams.get('code_challenge')!, nonce: url.searchParams.get('nonce') ?? '', redirectUri: url.searchParams.get('redirect_uri')!, account: { ...self.account } });
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state')!);
        if (url.pathname === '/authorize') back.searchParams.set('iss', self.spoil.issParam ?? base);
        self.lastResponseMode = url.searchParams.get('response_mode');
        if (self.lastResponseMode === 'form_post') {
          // As Apple: a page of the provider's site whose form posts the answer to the redirect URI.
          const fields = new URLSearchParams(back.search);
          if (self.postedUser !== undefined) fields.set('user', self.postedUser);
          back.search = '';
          const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&#34;').replace(/</g, '&#60;');
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end(`<!doctype html><html><head><title>Submit</title></head><body onload="document.forms[0].submit()"><form method="post" action="${attr(back.href)}">${[...fields].map(([k, v]) => `<input type="hidden" name="${attr(k)}" value="${attr(v)}">`).join('')}<noscript><button type="submit">Continue</button></noscript></form></body></html>`);
        }
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      case '/token':
      case '/login/oauth/access_token': {
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!grant || form.get('client_id') !== opts.clientId || form.get('client_secret') !== opts.clientSecret || form.get('redirect_uri') !== grant.redirectUri
          || crypto.hash('sha256', form.get('code_verifier') ?? '', 'base64url') !== grant.challenge) return json(res, 400, { error: 'invalid_grant' });
        const access = crypto.randomBytes(16).toString('hex');
        tokens.set(access, grant.account);
        if (url.pathname !== '/token') return json(res, 200, { access_token: access, token_type: 'bearer', scope: 'read:user,user:email' });
        const { sub, ...claims } = grant.account;
        const idToken = await new SignJWT({ ...claims, nonce: self.spoil.nonce ?? grant.nonce })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(self.spoil.iss ?? base).setAudience(self.spoil.aud ?? opts.clientId)
          .setSubject(sub).setIssuedAt().setExpirationTime('5m').sign(self.spoil.foreignKey ? foreign : privateKey);
        return json(res, 200, { access_token: access, token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      case '/userinfo': {
        const a = tokens.get(bearer);
        return a ? json(res, 200, a) : json(res, 401, { error: 'invalid_token' });
      }
      case '/user': {
        const a = tokens.get(bearer);
        return a ? json(res, 200, { id: Number(a.sub.replace(/\D/g, '')) || 1, login: a.name?.replace(/\s/g, '').toLowerCase() ?? 'octo', name: a.name ?? null, email: null }) : json(res, 401, { message: 'Bad credentials' });
      }
      case '/user/emails': {
        const a = tokens.get(bearer);
        return a ? json(res, 200, a.email ? [{ email: a.email, primary: true, verified: a.email_verified === true }] : []) : json(res, 401, { message: 'Bad credentials' });
      }
      default:
        return json(res, 404, { error: 'not_found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return self;
}
