// The OpenID provider's endpoints in the OpenAPI document (src/http/oidc-openapi.ts). They are
// served behind wildcard routes that Fastify cannot describe, so they are written by hand, and a
// hand-written description drifts: an endpoint discovery names but the document lacks, a method
// documented that nothing serves, an answer whose shape the document does not describe. Here,
// against a whole server on a real port (its PUBLIC_URL): every endpoint of the default issuer's
// and a named tenant's discovery is in /api/schema with the methods it serves; the documented
// methods answer (and the POST forms the provider does not serve are not documented); real
// answers of the code flow, refresh, userinfo, client credentials, introspection, revocation,
// the JWKS and the refusals (a NUL in the query or form among them: once a 500) match the documented schema of their status (Ajv); and the whole
// document stays well formed (unique operation ids, path parameters declared, every schema compiles).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { codeFlow, oidcApp, PASSWORD, REDIRECT, type OidcApp } from '../oidc/support.ts';
import { oidcOpenapiPaths } from '../../src/http/oidc-openapi.ts';
import * as oc from 'openid-client';

/** Each endpoint discovery names, with the methods the provider serves it by. */
const SERVED: Record<string, string[]> = {
  authorization_endpoint: ['get'],
  token_endpoint: ['post'],
  userinfo_endpoint: ['get', 'post'],
  jwks_uri: ['get'],
  introspection_endpoint: ['post'],
  revocation_endpoint: ['post'],
  end_session_endpoint: ['get'],
};

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components?: unknown };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

for (const { engine, skip } of engines) {
  describe(`the OpenID provider's endpoints in /api/schema (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let doc: Doc;
    let ajv: Ajv;
    const discovery: Record<string, Record<string, unknown>> = {};

    before(async () => {
      app = await oidcApp(engine);
      await app.t.core.tenants.create('acme', 'Acme');
      await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' });
      const r = await fetch(`${app.base}/api/schema`);
      assert.equal(r.status, 200);
      doc = await r.json() as Doc;
      ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema({ ...doc, $id: 'doc' });
      for (const tenant of ['', 'acme']) {
        const d = await fetch(`${app.issuer(tenant || undefined)}/.well-known/openid-configuration`);
        assert.equal(d.status, 200);
        discovery[tenant] = await d.json() as Record<string, unknown>;
      }
    });
    after(() => app?.close());

    /** The document's path of a URL of the server (`/tenants/acme/...` -> `/tenants/{tenant}/...`). */
    const templateOf = (url: string) => new URL(url).pathname.replace(/^\/tenants\/acme\//, '/tenants/{tenant}/');

    /** Fails unless the document lists this status for the operation and its JSON schema accepts the body. */
    function conforms(path: string, method: string, status: number, body: unknown, contentType = 'application/json') {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is in the document`);
      const answer = op.responses[String(status)];
      assert.ok(answer, `${method.toUpperCase()} ${path} answered ${status}, which the document does not list: ${String(JSON.stringify(body)).slice(0, 300)}`);
      if (body === undefined) return;
      const media = answer.content?.[contentType];
      assert.ok(media, `${method.toUpperCase()} ${path} ${status}: ${contentType} is documented`);
      const esc = path.replace(/~/g, '~0').replace(/\//g, '~1');
      const v = ajv.compile({ $ref: `doc#/paths/${esc}/${method}/responses/${status}/content/${contentType.replace(/\//g, '~1')}/schema` });
      assert.ok(v(body), `${method.toUpperCase()} ${path} ${status} does not match its schema: ${JSON.stringify(v.errors?.slice(0, 3))}\n${JSON.stringify(body).slice(0, 500)}`);
    }

    it('pushed authorization requests are not offered: not in discovery, and their endpoint is not served', async () => {
      for (const meta of Object.values(discovery)) assert.equal(meta.pushed_authorization_request_endpoint, undefined);
      const r = await app.t.request({ method: 'POST', url: '/oidc/request', payload: 'client_id=x&response_type=code', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(r.statusCode, 404, r.body);
    });

    it('every endpoint discovery names, for the default issuer and a tenant\'s, is in the document with its methods', () => {
      for (const [tenant, meta] of Object.entries(discovery)) {
        const named = Object.keys(meta).filter((k) => k.endsWith('_endpoint') || k === 'jwks_uri');
        assert.ok(named.length >= Object.keys(SERVED).length, `discovery of "${tenant}" names its endpoints`);
        for (const key of named) {
          const methods = SERVED[key];
          assert.ok(methods, `discovery names ${key}, which this test (and the document) does not know`);
          const path = templateOf(String(meta[key]));
          const item = doc.paths[path];
          assert.ok(item, `${key} (${path}) is in /api/schema`);
          assert.deepEqual(Object.keys(item).filter((m) => METHODS.includes(m)).sort(), [...methods].sort(), `${path}: the methods it is served by`);
          for (const m of methods) {
            assert.deepEqual(item[m].tags, ['oidc'], `${m} ${path} is tagged oidc`);
            const params = (item[m].parameters ?? []) as Array<{ name: string; in: string; required?: boolean }>;
            if (tenant) assert.ok(params.some((p) => p.name === 'tenant' && p.in === 'path' && p.required), `${m} ${path} declares {tenant}`);
          }
        }
      }
    });

    it('each documented method is served (never 404 or 5xx); the POST forms the provider does not serve are not documented', async () => {
      const ops = Object.entries(doc.paths).filter(([p]) => /\/oidc\//.test(p))
        .flatMap(([p, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => ({ path: p, method: m })));
      assert.equal(ops.length, 2 * 8, 'eight operations per issuer');
      for (const { path, method } of ops) {
        const r = await fetch(`${app.base}${path.replace('{tenant}', 'acme')}`, {
          method: method.toUpperCase(), redirect: 'manual',
          ...(method === 'post' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' } : {}),
        });
        await r.arrayBuffer();
        assert.ok(r.status !== 404 && r.status < 500, `${method.toUpperCase()} ${path}: ${r.status}`);
        assert.ok(doc.paths[path]![method].responses[String(r.status)], `${method.toUpperCase()} ${path} answered ${r.status}, which the document does not list`);
      }
      // oidc-provider's enableHttpPostMethods is off: these answer 404, and so are not in the document.
      for (const path of ['/oidc/auth', '/oidc/session/end', '/tenants/acme/oidc/auth']) {
        const r = await fetch(`${app.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=x' });
        await r.arrayBuffer();
        assert.equal(r.status, 404, `POST ${path}`);
      }
    });

    it('real answers match the documented schema of their status: the code flow, refresh, userinfo, introspection, revocation, client credentials, JWKS and refusals', async () => {
      for (const tenant of [undefined, 'acme']) {
        const prefix = tenant ? '/tenants/{tenant}' : '';
        const issuer = app.issuer(tenant);
        if (tenant) await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@acme.test', tenant });
        const c = await app.client({ tenant, first_party: true, grant_types: ['authorization_code', 'refresh_token', 'client_credentials'] });
        const auth = { authorization: basic(c.client_id, c.client_secret!) };
        const post = async (path: string, form: Record<string, string>, headers: Record<string, string> = auth) => {
          const r = await fetch(`${issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
          const raw = await r.text();
          return { status: r.status, type: r.headers.get('content-type') ?? '', body: raw ? JSON.parse(raw) : undefined };
        };

        // The authorization endpoint, then the token endpoint's code and refresh grants.
        const config = await oc.discovery(new URL(issuer), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
        const first = await fetch(`${issuer}/oidc/auth?${new URLSearchParams({ client_id: c.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid' })}`, { redirect: 'manual' });
        await first.arrayBuffer();
        conforms(`${prefix}/oidc/auth`, 'get', first.status, undefined);
        const flow = await codeFlow(app, config, { scope: 'openid profile email', username: 'riley' });
        const tokens = await post('/oidc/token', { grant_type: 'authorization_code', code: flow.callback.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: flow.verifier });
        assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
        for (const k of ['access_token', 'refresh_token', 'id_token']) noteSecret(tokens.body[k]);
        assert.ok(tokens.body.refresh_token && tokens.body.id_token, 'a first-party client gets a refresh token and an ID token');
        conforms(`${prefix}/oidc/token`, 'post', 200, tokens.body);
        const refreshed = await post('/oidc/token', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token });
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
        for (const k of ['access_token', 'refresh_token', 'id_token']) noteSecret(refreshed.body[k]);
        conforms(`${prefix}/oidc/token`, 'post', 200, refreshed.body);
        const reused = await post('/oidc/token', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token });
        assert.equal(reused.body.error, 'invalid_grant');
        conforms(`${prefix}/oidc/token`, 'post', reused.status, reused.body);

        // userinfo by GET and POST, and without a token.
        const code2 = await codeFlow(app, config, { scope: 'openid profile email', username: 'riley', browser: flow.browser });
        const t2 = await post('/oidc/token', { grant_type: 'authorization_code', code: code2.callback.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: code2.verifier });
        for (const k of ['access_token', 'refresh_token', 'id_token']) noteSecret(t2.body[k]);
        const me = await fetch(`${issuer}/oidc/me`, { headers: { authorization: `Bearer ${t2.body.access_token}` } });
        assert.equal(me.status, 200);
        const claims = await me.json() as Record<string, unknown>;
        assert.equal(claims.preferred_username, 'riley');
        conforms(`${prefix}/oidc/me`, 'get', 200, claims);
        const mePost = await post('/oidc/me', { access_token: t2.body.access_token }, {});
        conforms(`${prefix}/oidc/me`, 'post', mePost.status, mePost.body);
        assert.equal(mePost.status, 200);
        const anonymous = await fetch(`${issuer}/oidc/me`);
        assert.equal(anonymous.status, 401);
        assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
        conforms(`${prefix}/oidc/me`, 'get', 401, await anonymous.json());

        // Client credentials (client_secret_post), introspection of a JWT and of a refresh token, revocation.
        const cc = await post('/oidc/token', { grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret! }, {});
        assert.equal(cc.status, 200, JSON.stringify(cc.body));
        noteSecret(cc.body.access_token);
        conforms(`${prefix}/oidc/token`, 'post', 200, cc.body);
        for (const token of [cc.body.access_token, t2.body.access_token, t2.body.refresh_token, 'not-a-token']) {
          const i = await post('/oidc/token/introspection', { token });
          assert.equal(i.status, 200, JSON.stringify(i.body));
          assert.equal(i.body.active, token !== 'not-a-token');
          conforms(`${prefix}/oidc/token/introspection`, 'post', 200, i.body);
        }
        for (const token of [t2.body.refresh_token, cc.body.access_token]) {
          const r = await post('/oidc/token/revocation', { token });
          conforms(`${prefix}/oidc/token/revocation`, 'post', r.status, undefined);
          assert.equal(r.status, 200);
        }

        // Refusals: the OAuth error shape, with detail.
        const refusals = [
          await post('/oidc/token', { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, 'wrong-secret') }),
          await post('/oidc/token', { grant_type: 'password', username: 'riley', password: 'x' }),
          await post('/oidc/token', { grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT, code_verifier: 'a'.repeat(43) }),
          await post('/oidc/token', {}),
        ];
        assert.deepEqual(refusals.map((r) => r.status), [401, 400, 400, 400]);
        for (const r of refusals) {
          assert.equal(r.body.detail, r.body.error_description);
          conforms(`${prefix}/oidc/token`, 'post', r.status, r.body);
        }
        const noToken = await post('/oidc/token/introspection', {});
        conforms(`${prefix}/oidc/token/introspection`, 'post', noToken.status, noToken.body);
        const noClient = await post('/oidc/token/revocation', { token: 'x' }, {});
        conforms(`${prefix}/oidc/token/revocation`, 'post', noClient.status, noClient.body);

        // The JWKS, the logout page and its refusal.
        const jwks = await fetch(`${issuer}/oidc/jwks`);
        conforms(`${prefix}/oidc/jwks`, 'get', jwks.status, await jwks.json());
        const end = await fetch(`${issuer}/oidc/session/end`, { redirect: 'manual' });
        await end.arrayBuffer();
        conforms(`${prefix}/oidc/session/end`, 'get', end.status, undefined);
        const badEnd = await fetch(`${issuer}/oidc/session/end?id_token_hint=not-a-jwt`, { redirect: 'manual' });
        conforms(`${prefix}/oidc/session/end`, 'get', badEnd.status, await badEnd.json());
      }
      // A NUL in the query (refused by the shared guard before the provider runs; once a 500) or in the form: 400.
      for (const [path, method] of [['/oidc/auth', 'get'], ['/oidc/session/end', 'get'], ['/tenants/{tenant}/oidc/auth', 'get'], ['/oidc/token', 'post']] as const) {
        const r = await fetch(`${app.base}${path.replace('{tenant}', 'acme')}${method === 'get' ? '?client_id=%00' : ''}`, { method: method.toUpperCase(), ...(method === 'post' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=%00' } : {}) });
        const body = await r.json() as Record<string, unknown>;
        assert.equal(r.status, 400, `${method.toUpperCase()} ${path} with a NUL: ${JSON.stringify(body)}`);
        assert.equal(body.error, 'invalid_request');
        conforms(path, method, 400, body);
      }
      // An unknown tenant's issuer: 404 in the OAuth shape, on every tenant path.
      for (const [path, method] of [['/oidc/token', 'post'], ['/oidc/jwks', 'get'], ['/oidc/me', 'get']] as const) {
        const r = await fetch(`${app.base}/tenants/no-such-tenant${path}`, { method: method.toUpperCase(), ...(method === 'post' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' } : {}) });
        conforms(`/tenants/{tenant}${path}`, method, r.status, await r.json());
        assert.equal(r.status, 404);
      }
    });

    it('the document stays well formed: OpenAPI 3.0, unique operation ids, path parameters declared, every schema compiles', () => {
      assert.match(doc.openapi, /^3\.0\.\d$/);
      const ids = new Set<string>();
      let schemas = 0;
      for (const [path, item] of Object.entries(doc.paths)) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
        for (const [method, op] of Object.entries(item)) {
          if (!METHODS.includes(method)) continue;
          const where = `${method.toUpperCase()} ${path}`;
          if (op.operationId !== undefined) {
            assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} twice`);
            ids.add(op.operationId);
          }
          const params = (op.parameters ?? []) as Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
          assert.deepEqual(params.filter((p) => p.in === 'path').map((p) => p.name).sort(), inPath, `${where}: path parameters as in the template`);
          for (const p of params.filter((x) => x.in === 'path')) assert.equal(p.required, true, `${where}: {${p.name}} is required`);
          assert.ok(op.responses && Object.keys(op.responses).length > 0, `${where} lists its answers`);
          const esc = path.replace(/~/g, '~0').replace(/\//g, '~1');
          const pointers: string[] = [];
          params.forEach((p, i) => p.schema && pointers.push(`parameters/${i}/schema`));
          for (const type of Object.keys(op.requestBody?.content ?? {})) pointers.push(`requestBody/content/${type.replace(/\//g, '~1')}/schema`);
          for (const [status, answer] of Object.entries<any>(op.responses)) {
            assert.equal(typeof answer.description, 'string', `${where} ${status} has a description`);
            for (const type of Object.keys(answer.content ?? {})) if (answer.content[type].schema) pointers.push(`responses/${status}/content/${type.replace(/\//g, '~1')}/schema`);
          }
          for (const ptr of pointers) {
            assert.doesNotThrow(() => ajv.compile({ $ref: `doc#/paths/${esc}/${method}/${ptr}` }), `${where} ${ptr} compiles`);
            schemas++;
          }
          if (/\/oidc\//.test(path) && op.requestBody) {
            assert.deepEqual(Object.keys(op.requestBody.content), ['application/x-www-form-urlencoded'], `${where}: the provider reads forms`);
          }
        }
      }
      assert.ok(ids.size >= 100 && schemas > 200, `${ids.size} operations, ${schemas} schemas`);
    });

    it('each server gets its own paths object (the plugin adds routes into the one it is given)', () => {
      const a = oidcOpenapiPaths();
      const b = oidcOpenapiPaths();
      assert.notEqual(a, b);
      (a['/oidc/token'] as Record<string, unknown>).x = 1;
      ((a['/oidc/token'] as any).post.responses[400].content['application/json'].schema.properties as Record<string, unknown>).extra = {};
      assert.equal((b['/oidc/token'] as Record<string, unknown>).x, undefined);
      assert.equal((b['/oidc/token'] as any).post.responses[400].content['application/json'].schema.properties.extra, undefined, 'nothing shared underneath');
      assert.equal((b['/oidc/me'] as any).get.responses[401].content['application/json'].schema.properties.extra, undefined);
    });
  });
}
