// Upgrading a database whose refresh tokens were issued before they named their family
// (migration 0007): a sign-in made on the old schema keeps working after `migrate`, its token is
// honoured once and continues the family in the new form, and reusing it revokes the family.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Migrator } from 'kysely/migration';
import { engines } from '../helpers/engines.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { createCore, ManualClock, OPERATOR } from '../../src/core/index.ts';
import { sha256 } from '../../src/core/secrets.ts';
import { fastHasher, outboxMailerForTests } from '../helpers/app.ts';
import { PUBLIC_URL, PASSWORD } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`refresh tokens across migration 0007 [${engine.name}]`, { skip }, () => {
    let store: Store | undefined;
    let drop: (() => Promise<void>) | undefined;
    after(async () => {
      await store?.close();
      await drop?.();
    });

    it('a token stored before the migration is refreshed once after it; its reuse revokes the family', async () => {
      const db = await engine.create();
      drop = db.drop;
      store = openStore(db.url);
      const migrator = new Migrator({
        db: store.db, provider: { getMigrations: async () => migrations(store!.engine) },
        migrationTableName: 'latchkey_migrations', migrationLockTableName: 'latchkey_migrations_lock',
      });
      const upTo6 = await migrator.migrateTo('0006-users-list-index');
      assert.equal(upTo6.error, undefined);

      // The state a sign-in on the old schema left: a family and the hash of an opaque token.
      const clock = new ManualClock();
      const core = createCore({ store, publicUrl: PUBLIC_URL, clock, hasher: fastHasher(), mailer: outboxMailerForTests() });
      await core.tenants.ensureDefault();
      const user = await core.users.create(OPERATOR, { username: 'olduser', password: PASSWORD });
      const row = (await store.read.users.findById(user.id))!;
      const family = crypto.randomUUID();
      const opaque = crypto.randomBytes(32).toString('base64url');
      const now = clock.now();
      await store.db.insertInto('token_families').values({ id: family, tenant_pk: row.tenantPk, user_pk: row.pk, created_at: now, revoked_at: null, revoked_reason: null, client_pk: null, scope: '' }).execute();
      await store.db.insertInto('refresh_tokens').values({ token_hash: sha256(opaque), family_id: family, created_at: now, expires_at: now + 86_400_000, used_at: null }).execute();

      assert.equal((await store.migrate())[0], '0007-refresh-tokens-by-family');
      await core.prepare();

      const next = await core.tokenPairs.refresh(opaque);
      assert.match(next.refresh, new RegExp(`^${family}\\.[A-Za-z0-9_-]{43}$`));
      const principal = await core.credentials.accessToken(next.access);
      assert.equal(principal.familyId, family);
      const later = await core.tokenPairs.refresh(next.refresh);

      await assert.rejects(core.tokenPairs.refresh(opaque), { code: 'TOKEN_INVALID' });
      await assert.rejects(core.tokenPairs.refresh(later.refresh), { code: 'TOKEN_INVALID' }, 'the reuse revoked the family');
      assert.equal((await store.read.tokens.findFamily(family))?.revoked_reason, 'refresh_token_reused');
    });
  });
}
