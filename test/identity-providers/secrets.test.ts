// Provider client secrets at rest: sealed under LATCHKEY_SECRET_KEYS and bound to their row
// (a sealed value copied to another provider does not open there), resealed under a new first
// key by `keys reseal`, and a lost key fails closed (a clear 503 at sign-in, not a guess).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { createCore, OPERATOR, SecretBox } from '../../src/core/index.ts';
import { fastHasher, outboxMailerForTests } from '../helpers/app.ts';
import { startCore, rejectsWith, PUBLIC_URL, type CoreFixture } from '../core/support.ts';

const A = 'first-secret-key-for-sealing-idp-0000000000';
const B = 'second-secret-key-for-sealing-idp-111111111';

for (const { engine, skip } of engines) {
  describe(`identity provider secrets at rest (${engine.name})`, { skip }, () => {
    let f: CoreFixture;
    before(async () => { f = await startCore(engine, { secretBox: new SecretBox([A]) }); });
    after(async () => { await f?.close(); });
    const coreWith = (keys: string[]) => createCore({ store: f.store, publicUrl: PUBLIC_URL, clock: f.clock, hasher: fastHasher(), mailer: outboxMailerForTests(), secretBox: new SecretBox(keys) });
    const row = (slug: string) => f.store.db.selectFrom('identity_providers' as any).selectAll().where('slug', '=', slug).executeTakeFirstOrThrow() as Promise<any>;

    it('with an https PUBLIC_URL, plain http even to loopback is refused', async () => {
      const prod = createCore({ store: f.store, publicUrl: 'https://auth.example.com', clock: f.clock, hasher: fastHasher(), mailer: outboxMailerForTests(), secretBox: new SecretBox([A]) });
      const tenant = await prod.tenants.resolve(undefined);
      await rejectsWith(prod.identityProviders.create(OPERATOR, tenant, { id: 'local', kind: 'oidc', issuer: 'http://127.0.0.1:8080', clientId: 'x' }), 'VALIDATION_FAILED');
      await rejectsWith(prod.identityProviders.create(OPERATOR, tenant, { id: 'local2', kind: 'github', tokenEndpoint: 'http://localhost:9000/token', clientId: 'x' }), 'VALIDATION_FAILED');
    });

    it('sealed and bound to the provider; resealed under a new key; a lost key fails closed', async () => {
      const tenant = await f.core.tenants.resolve(undefined);
      // GitHub-kind providers need no discovery.
      for (const id of ['one', 'two']) await f.core.identityProviders.create(OPERATOR, tenant, { id, kind: 'github', clientId: `cid-${id}`, clientSecret: `secret-of-${id}` });
      const one = await row('one');
      assert.ok(one.client_secret.startsWith('lk1.') && !one.client_secret.includes('secret-of-one'));
      assert.equal(f.core.identityProviders.open((await f.store.read.identityProviders.find(tenant.pk, 'one'))!).clientSecret, 'secret-of-one');

      // Copied into another row, it does not open there.
      await f.store.db.updateTable('identity_providers' as any).set({ client_secret: one.client_secret }).where('slug', '=', 'two').execute();
      const two = (await f.store.read.identityProviders.find(tenant.pk, 'two'))!;
      assert.throws(() => f.core.identityProviders.open(two), (e: any) => e.code === 'UNAVAILABLE');
      await f.core.identityProviders.update(OPERATOR, tenant, 'two', { clientSecret: 'secret-of-two' });

      const both = coreWith([B, A]);
      const report = await both.resealSecrets();
      assert.deepEqual(report.find((r) => r.kind === 'identity_provider_secret'), { kind: 'identity_provider_secret', total: 2, resealed: 2 });
      assert.deepEqual((await both.resealSecrets()).find((r) => r.kind === 'identity_provider_secret'), { kind: 'identity_provider_secret', total: 2, resealed: 0 });
      const onlyB = coreWith([B]);
      assert.equal(onlyB.identityProviders.open((await f.store.read.identityProviders.find(tenant.pk, 'one'))!).clientSecret, 'secret-of-one');
      // The old key alone no longer opens it: a sign-in there fails closed.
      const onlyA = coreWith([A]);
      await rejectsWith(onlyA.upstreamSignIn.begin({ tenant: undefined, provider: 'one', purpose: 'login' }), 'UNAVAILABLE');
    });
  });
}
