// Threat: a tenant's staff point "their identity provider" at the machine's own services or the
// cloud's metadata address, and Latchkey fetches from there on their behalf (SSRF): a discovery
// document, a token endpoint, a key set. On a server whose PUBLIC_URL is not loopback http, a
// provider a tenant's staff set up connects to public addresses only: an address that names the
// internal network is refused when saved (400 on the field, nothing stored, no connection made),
// and every connection is checked on the addresses its name resolves to then, so a name that
// resolves inside is refused too. A superuser (or the operator) may set up a provider on the
// internal network (a company's own Keycloak); staff who later change its addresses put it back
// on the public internet. A TCP listener on loopback counts the connections that reach it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import dns from 'node:dns/promises';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { OPERATOR } from '../../src/core/index.ts';
import { isInternalAddress } from '../../src/core/identity-providers/public-network.ts';

const PASSWORD = 'internal-network-pass-1';
const SECRET = 'internal-network-secret-0123456789';
noteSecret(SECRET);

describe('internal addresses (isInternalAddress)', () => {
  it('the loopback, private, link-local, shared, documentation and multicast ranges are inside; public addresses are not', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '192.0.2.7',
      '::1', '::', 'fe80::1', 'fd00::1', 'fc12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.1.2.3', '64:ff9b::a00:1', '64:ff9b::10.0.0.1', '2001:db8::1', 'not an address']) {
      assert.equal(isInternalAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      assert.equal(isInternalAddress(ip), false, ip);
    }
  });
});

for (const { engine, skip } of engines) {
  describe(`a tenant's staff cannot point a provider at the internal network [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let listener: net.Server;
    let port = 0;
    let connections = 0;
    let staff: Record<string, string>;
    const rows = async () => t.store.db.selectFrom('identity_providers' as any).selectAll().execute() as Promise<any[]>;
    /** An app hands Latchkey an access token it got from the provider (headless provider/token): Latchkey reads the profile API. */
    const providerToken = (provider: string) => t.request({
      method: 'POST', url: '/_allauth/app/v1/auth/provider/token', headers: { 'x-tenant': 'acme' },
      payload: { provider, process: 'login', token: { client_id: 'latchkey', access_token: 'upstream-access-token' } },
    });
    const add = (headers: Record<string, string>, payload: Record<string, unknown>) =>
      t.request({ method: 'POST', url: '/api/identity-providers/', headers, payload: { client_id: 'latchkey', client_secret: SECRET, ...payload } });

    before(async () => {
      // PUBLIC_URL on https: a production server, where the rule holds.
      t = await startApp(engine, { publicUrl: 'https://auth.example.test' });
      listener = net.createServer((s) => { connections++; s.destroy(); });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      port = (listener.address() as net.AddressInfo).port;
      await t.core.tenants.create('acme', 'Acme');
      await t.createUser({ username: 'wile', password: PASSWORD, isStaff: true, tenant: 'acme' });
      const r = await t.request({ method: 'POST', url: '/api/token', headers: { 'x-tenant': 'acme' }, payload: { username: 'wile', password: PASSWORD } });
      assert.equal(r.statusCode, 200, r.body);
      staff = { authorization: `Bearer ${r.json().access}` };
    });
    after(async () => {
      await new Promise<void>((resolve) => listener?.close(() => resolve()));
      await t?.close();
    });

    it('staff: an issuer or endpoint on a loopback, private, link-local or mapped address, or localhost, is a 400 on its field; nothing stored, no connection', async () => {
      const before = connections;
      for (const issuer of [`https://127.0.0.1:${port}`, `https://[::1]:${port}`, 'https://10.20.30.40', 'https://169.254.169.254', `https://localhost:${port}`, `https://[::ffff:127.0.0.1]:${port}`, 'https://api.localhost']) {
        const r = await add(staff, { id: 'corp', kind: 'oidc', issuer });
        assert.equal(r.statusCode, 400, `${issuer}: ${r.body}`);
        assert.match(r.json().issuer[0], /internal network: only a superuser/, issuer);
      }
      const gh = await add(staff, { id: 'gh', kind: 'github', authorization_endpoint: 'https://github.example/login/oauth/authorize', token_endpoint: `https://127.0.0.1:${port}/token`, userinfo_endpoint: 'https://api.github.example/user' });
      assert.equal(gh.statusCode, 400, gh.body);
      assert.deepEqual(Object.keys(gh.json()), ['token_endpoint']);
      assert.equal((await rows()).length, 0);
      assert.equal(connections, before, 'no connection was made');
    });

    it('staff: a name that resolves to the internal network is refused when connecting (discovery at save), with no connection made', async (c) => {
      const name = os.hostname();
      const addresses = await dns.lookup(name, { all: true }).catch(() => []);
      if (addresses.length === 0 || !addresses.every((a) => isInternalAddress(a.address))) return c.skip(`${name} does not resolve to internal addresses only here`);
      const before = connections;
      const r = await add(staff, { id: 'corp', kind: 'oidc', issuer: `https://${name}:${port}` });
      assert.equal(r.statusCode, 400, r.body);
      assert.match(r.json().issuer[0], /internal network address: only a superuser/);
      assert.equal((await rows()).length, 0);
      assert.equal(connections, before);
    });

    it('a row held to public addresses that names an internal one (saved before the rule) is refused at sign-in: 400, no connection', async () => {
      const tenant = await t.core.tenants.resolve('acme');
      await t.core.identityProviders.create(OPERATOR, tenant, {
        id: 'legacy', kind: 'github', clientId: 'latchkey', clientSecret: SECRET,
        authorizationEndpoint: 'https://github.example/login/oauth/authorize', tokenEndpoint: 'https://github.example/login/oauth/access_token', userinfoEndpoint: 'https://api.github.example/user',
      });
      await t.store.db.updateTable('identity_providers' as any).set({ internal_network: engine.name === 'sqlite' ? 0 : false, userinfo_endpoint: `https://127.0.0.1:${port}/user`, updated_at: Date.now() } as any).where('slug' as any, '=', 'legacy').execute();
      const before = connections;
      const r = await providerToken('legacy');
      assert.equal(r.statusCode, 400, r.body);
      assert.match(r.body, /internal network address/);
      assert.equal(connections, before, 'no connection was made');
      await t.store.db.deleteFrom('identity_providers' as any).execute();
    });

    it('a superuser may set up a provider on the internal network; staff who rename it keep that, staff who change an address lose it', async () => {
      const before = connections;
      // The operator (`latchkey identity-providers create`) or any superuser.
      const made = await t.core.identityProviders.create(OPERATOR, await t.core.tenants.resolve('acme'), {
        id: 'inside', kind: 'github', clientId: 'latchkey', clientSecret: SECRET,
        authorizationEndpoint: `https://127.0.0.1:${port}/authorize`, tokenEndpoint: `https://127.0.0.1:${port}/token`, userinfoEndpoint: `https://127.0.0.1:${port}/user`,
      });
      assert.ok(!('internalNetwork' in made), 'an internal flag, not part of what managers see');
      const listed = await t.request({ method: 'GET', url: '/api/identity-providers/inside/', headers: staff });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.ok(!('internal_network' in listed.json()));
      const flag = async () => Boolean(Number((await rows()).find((r) => r.slug === 'inside').internal_network) || (await rows()).find((r) => r.slug === 'inside').internal_network === true);
      assert.equal(await flag(), true);
      // The superuser's provider connects inside: the connection reaches the listener (which hangs up).
      const reached = await providerToken('inside');
      assert.equal(reached.statusCode, 503, `the listener hangs up: unreachable, not refused as internal: ${reached.body}`);
      assert.ok(connections > before, 'the connection was made');

      const renamed = await t.request({ method: 'PATCH', url: '/api/identity-providers/inside/', headers: staff, payload: { name: 'Inside SSO' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(await flag(), true, 'a rename keeps it');
      const moved = await t.request({ method: 'PATCH', url: '/api/identity-providers/inside/', headers: staff, payload: { token_endpoint: `https://127.0.0.2:${port}/token` } });
      assert.equal(moved.statusCode, 400, moved.body);
      assert.ok(moved.json().token_endpoint, moved.body);
      assert.equal(await flag(), true, 'a refused change changes nothing');
      const outside = await t.request({ method: 'PATCH', url: '/api/identity-providers/inside/', headers: staff, payload: { authorization_endpoint: 'https://sso.example/authorize', token_endpoint: 'https://sso.example/token', userinfo_endpoint: 'https://sso.example/user' } });
      assert.equal(outside.statusCode, 200, outside.body);
      assert.equal(await flag(), false, 'staff who change an address put it on the public internet');
    });
  });
}
