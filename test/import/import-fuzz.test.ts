// Any file row, however wrong, is a rejected row with a reason, never a crash and never a
// half-made record: JSON Lines objects with arbitrary fields (wrong types, __proto__ and other
// prototype names, odd Unicode, huge strings), read by the jsonl reader and planned by the core's
// import use case over an in-memory sink. Properties: nothing throws; every rejection names a
// line of the file; with any rejection nothing is written; what is written passes the same
// rules as the API (a valid username, unique in the batch, a known hash scheme). Fixed seed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { importRecords, describeHash, type ImportBatch, type ImportItem, type ImportSink } from '../../src/core/import/index.ts';
import { fromJsonl } from '../../src/import/formats/jsonl.ts';
import { readDjangoJson } from '../../src/import/formats/django.ts';
import { keycloakHash } from '../../src/import/formats/keycloak.ts';
import { FileProblem, RowProblem } from '../../src/import/formats/common.ts';
import { usernameProblem } from '../../src/core/users/user-fields.ts';

fc.configureGlobal({ seed: 1616, numRuns: Number(process.env.FUZZ_RUNS ?? 300), endOnFailure: true });

/** The reference sink: an empty tenant in memory that records what it is asked to write. */
function memorySink() {
  const written: ImportBatch[] = [];
  const sink: ImportSink = {
    usersByUsername: async () => new Map(),
    verifiedOwners: async () => new Map(),
    takenUserIds: async () => new Set(),
    existingGroups: async () => new Set(),
    clientTenants: async () => new Map(),
    writeBatch: async (_t, b) => void written.push(b),
  };
  return { sink, written };
}

const ODD = ['__proto__', 'constructor', 'toString', '', ' ', 'ａｄｍｉｎ', '😀', '\u202e', 'x'.repeat(5000), 'a@b.c', '$2b$04$' + 'a'.repeat(53), 'pbkdf2_sha256$1$s$AAAA', 'abc:def'];
const anyValue = fc.oneof(fc.constantFrom(...ODD), fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.oneof(fc.string(), fc.integer(), fc.constantFrom(...ODD)), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
const FIELDS = ['type', 'username', 'email', 'first_name', 'last_name', 'password_hash', 'is_active', 'is_staff', 'is_superuser', 'last_login', 'date_joined', 'profile', 'emm', 'avatar', 'emails', 'groups', 'id', 'key', 'value', 'name', 'client_id', 'grant_types', 'redirect_uris', 'confidential', 'first_party', '__proto__', 'constructor'];
const row = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 8 }),
  fc.record({ username: fc.oneof(fc.constantFrom(...ODD), fc.string()), password_hash: anyValue, emails: fc.array(fc.record({ email: anyValue, verified: anyValue, primary: anyValue }, { requiredKeys: [] }), { maxLength: 2 }), groups: anyValue }, { requiredKeys: ['username'] }),
);

describe('import fuzzing: any row is read and planned without a crash', () => {
  it('arbitrary JSON Lines rows: no throw, rejections name lines, rejected means nothing written, written rows are valid', async () => {
    await fc.assert(fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 12 }), fc.constantFrom('skip', 'update', 'fail' as const), async (objects, onConflict) => {
      const items: ImportItem[] = objects.flatMap((o, i) => fromJsonl(JSON.parse(JSON.stringify(o)), i + 1));
      const { sink, written } = memorySink();
      const report = await importRecords(items, sink, { tenant: { pk: 1, name: 'fuzz' }, onConflict, dryRun: false, now: 0, batchSize: 5 });
      for (const r of report.rejected) {
        assert.ok(r.line >= 1 && r.line <= objects.length, `line ${r.line}`);
        assert.ok(r.reason.length > 0 && r.reason.length < 1000);
      }
      if (report.rejected.length) assert.equal(written.length, 0, 'a rejected row means nothing is written');
      const names = new Set<string>();
      for (const u of written.flatMap((b) => b.users)) {
        assert.equal(usernameProblem(u.username), undefined);
        assert.ok(!names.has(u.username), 'no username twice');
        names.add(u.username);
        if (u.passwordHash !== null) assert.ok('scheme' in describeHash(u.passwordHash));
        assert.ok(u.addresses.filter((a) => a.primary).length <= 1);
      }
    }));
  });

  it('arbitrary dumpdata records: the Django reader gives rows or rejections (or refuses the file), never another error', () => {
    const fields = fc.dictionary(fc.constantFrom('username', 'password', 'email', 'groups', 'is_active', 'last_login', 'date_joined', 'user', 'verified', 'primary', 'name', '__proto__'), anyValue, { maxKeys: 6 });
    const record = fc.oneof(fc.record({ model: fc.constantFrom('auth.user', 'auth.group', 'account.emailaddress', 'other.model'), pk: anyValue, fields }), anyValue);
    fc.assert(fc.property(fc.oneof(fc.array(record, { maxLength: 8 }), anyValue), (data) => {
      try {
        const items = readDjangoJson(JSON.stringify(data, null, 2) ?? 'null');
        for (const i of items) assert.ok(i.line >= 1);
      } catch (err) {
        assert.ok(err instanceof FileProblem, String(err));
      }
    }));
  });

  it('arbitrary Keycloak credentials: a stored hash or a rejection, never another error', () => {
    const inner = fc.oneof(anyValue, fc.dictionary(fc.constantFrom('value', 'salt', 'algorithm', 'hashIterations', 'additionalParameters'), anyValue, { maxKeys: 5 }).map((o) => JSON.stringify(o)));
    fc.assert(fc.property(fc.record({ secretData: inner, credentialData: inner, hashedSaltedValue: anyValue, salt: anyValue, hashIterations: anyValue, algorithm: anyValue }, { requiredKeys: [] }), (cred) => {
      try {
        assert.equal(typeof keycloakHash(cred as Record<string, unknown>), 'string');
      } catch (err) {
        assert.ok(err instanceof RowProblem, String(err));
      }
    }));
  });
});
