// The store's side of an import (src/store/repos/import-batch.ts) on SQLite and PostgreSQL, driven
// by the core's use case in process: an update overwrites a user's fields and replaces its
// addresses and memberships by the file's, and keeps what identifies it (UUID, serial, creation
// time); a client keeps its secret across an update (files carry none). The threat: a re-import
// that quietly changes who a user is (tokens and links carry its UUID) or locks out a client.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { importRecords, type ImportItem, type ImportedUser } from '../../src/core/import/index.ts';
import { importSink } from '../../src/store/repos/import-batch.ts';
import { engines } from '../helpers/engines.ts';
import { startApp } from '../helpers/app.ts';

const base = (over: Partial<ImportedUser> = {}): ImportedUser => ({
  username: 'ann', email: 'ann@example.com', firstName: 'Ann', lastName: 'Old', passwordHash: null, isActive: true, isStaff: false, isSuperuser: false,
  lastLogin: null, createdAt: 1_600_000_000_000, addresses: [{ email: 'ann@example.com', verified: true, primary: true }, { email: 'ann.alt@example.com', verified: false, primary: false }],
  groups: ['old-group', 'kept-group'], ...over,
});
const client = (name: string, firstParty = false): ImportItem => ({ kind: 'client', line: 1, client: { clientId: 'sink-client', name, confidential: true, grantTypes: ['password'], redirectUris: [], scopes: [], firstParty } });

for (const { engine, skip } of engines) {
  describe(`import sink (${engine.name})`, { skip }, () => {
    it('an update keeps the UUID, serial and creation time, overwrites the fields, replaces addresses and memberships; a client keeps its secret and takes the file\'s first_party', async () => {
      const t = await startApp(engine);
      try {
        const tenant = await t.core.tenants.resolve(undefined);
        const sink = importSink(t.store);
        const opts = { tenant, onConflict: 'update' as const, dryRun: false, now: 1_700_000_000_000 };
        const first = await importRecords([client('First name'), { kind: 'user', line: 2, user: base() }], sink, opts);
        assert.equal(first.users.created, 1);
        assert.equal(first.clientSecrets.length, 1);
        const before = (await t.store.read.users.findByUsername(tenant.pk, 'ann'))!;
        const secretHash = (await t.store.read.clients.find('sink-client'))!.secretHash;
        assert.ok(secretHash);
        assert.equal((await t.store.read.clients.find('sink-client'))!.firstParty, false);

        const second = await importRecords([
          client('Second name', true),
          { kind: 'user', line: 2, user: base({ id: '11111111-2222-4333-8444-555555555555', lastName: 'New', createdAt: 1, addresses: [{ email: 'ann@example.com', verified: true, primary: true }], groups: ['kept-group', 'new-group'] }) },
        ], sink, { ...opts, now: 1_800_000_000_000 });
        assert.deepEqual([second.users.updated, second.clients.updated, second.clientSecrets.length], [1, 1, 0]);
        const after = (await t.store.read.users.findByUsername(tenant.pk, 'ann'))!;
        assert.deepEqual([after.id, after.pk, after.createdAt], [before.id, before.pk, before.createdAt], 'who the user is does not change');
        assert.equal(after.lastName, 'New');
        assert.equal(after.updatedAt, 1_800_000_000_000);
        assert.deepEqual((await t.store.read.emailAddresses.forUser(after.pk)).items.map((a) => a.email), ['ann@example.com']);
        assert.deepEqual(await t.store.read.groups.namesForUser(after.pk), ['kept-group', 'new-group']);
        const c = (await t.store.read.clients.find('sink-client'))!;
        assert.equal(c.name, 'Second name');
        assert.equal(c.secretHash, secretHash, 'an updated client keeps its secret');
        assert.equal(c.firstParty, true, 'an update sets first_party as the file says');
        assert.ok(await t.store.read.groups.findByName(tenant.pk, 'old-group'), 'a group is never deleted by an import');
      } finally {
        await t.close();
      }
    });
  });
}
