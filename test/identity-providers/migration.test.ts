// Migration 0013 on a database that already has the later 0015 (made before 0013 existed):
// the store applies it on the next start, and the tables work.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator } from 'kysely/migration';
import { engines } from '../helpers/engines.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { migrations } from '../../src/store/migrations/index.ts';

for (const { engine, skip } of engines) {
  describe(`migration 0013 after 0015 (${engine.name})`, { skip }, () => {
    let store: Store | undefined;
    let drop: (() => Promise<void>) | undefined;
    after(async () => {
      await store?.close();
      await drop?.();
    });

    it('a database at 0015 without 0013 gets it at the next start', async () => {
      const db = await engine.create();
      drop = db.drop;
      store = openStore(db.url);
      // The migrations there were then: up to 0017, without 0013 (0018 alters 0013's table).
      const without = Object.fromEntries(Object.entries(migrations(store.engine)).filter(([name]) => name !== '0013-identity-providers' && name < '0018'));
      const old = new Migrator({ db: store.db, provider: { getMigrations: async () => without }, migrationTableName: 'latchkey_migrations', migrationLockTableName: 'latchkey_migrations_lock' });
      const first = await old.migrateToLatest();
      assert.equal(first.error, undefined);
      assert.ok(first.results!.some((r) => r.migrationName === '0015-client-first-party'));
      assert.deepEqual(await store.migrate(), ['0013-identity-providers', '0018-identity-provider-network']);
      assert.equal((await store.db.selectFrom('identity_providers').selectAll().execute()).length, 0);
      assert.deepEqual(await store.migrate(), [], 'nothing more');
    });
  });
}
