// Moving in from Keycloak: a realm export in the exact shape `kc.sh export` writes (users with
// credentials whose secretData and credentialData are JSON strings, the groups tree, a service
// account), with the password hashes computed by Python's hashlib and argon2-cffi from
// Keycloak's published parameters (pbkdf2-sha256 at 27,500 iterations, pbkdf2-sha512 at
// 210,000, argon2id m=7168 t=5 p=1). No Keycloak runs here. Imported by the real CLI on SQLite and
// PostgreSQL; every user signs in with the same password and then holds argon2id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { freshDatabase, latchkey, serve, tmpDir } from './helpers/import-harness.ts';

interface Cred { value: string; salt: string; iterations: number }
const hashesFor = (password: string): Record<string, Cred> =>
  JSON.parse(execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'helpers/python-hashes.py')], { input: JSON.stringify({ password }) }).toString());

const PEOPLE = [
  { username: 'kc-alice', password: 'alice-in-keycloak-1', algorithm: 'pbkdf2-sha256', groups: ['/staff', '/staff/admins'] },
  { username: 'kc-bob', password: 'bob-sha512-keycloak', algorithm: 'pbkdf2-sha512', groups: ['/staff'] },
  { username: 'kc-carol', password: 'carol-ärgon2-keycloak', algorithm: 'argon2', groups: [] },
];

function credential(algorithm: string, c: Cred) {
  const additional = algorithm === 'argon2' ? { hashLength: ['32'], memory: ['7168'], type: ['id'], version: ['1.3'], parallelism: ['1'] } : {};
  return {
    id: crypto.randomUUID(), type: 'password', userLabel: 'My password', createdDate: 1_700_000_000_000,
    secretData: JSON.stringify({ value: c.value, salt: c.salt, additionalParameters: {} }),
    credentialData: JSON.stringify({ hashIterations: c.iterations, algorithm, additionalParameters: additional }),
  };
}

function realmExport(): string {
  const key = (a: string) => (a === 'argon2' ? 'keycloak_argon2' : a === 'pbkdf2-sha512' ? 'keycloak_pbkdf2_sha512' : 'keycloak_pbkdf2_sha256');
  const users = PEOPLE.map((p, i) => ({
    id: crypto.randomUUID(), createdTimestamp: 1_700_000_000_000 + i, username: p.username, enabled: true, totp: false, emailVerified: i === 0,
    firstName: p.username.slice(3), lastName: 'Example', email: `${p.username}@example.com`,
    credentials: [credential(p.algorithm, hashesFor(p.password)[key(p.algorithm)])],
    disableableCredentialTypes: [], requiredActions: [], realmRoles: ['default-roles-acme'], notBefore: 0, groups: p.groups,
  }));
  users.push({
    id: crypto.randomUUID(), createdTimestamp: 1_700_000_000_100, username: 'service-account-backend', enabled: true, totp: false, emailVerified: false,
    serviceAccountClientId: 'backend', credentials: [], disableableCredentialTypes: [], requiredActions: [], realmRoles: [], notBefore: 0, groups: [],
  } as never);
  const realm = {
    id: crypto.randomUUID(), realm: 'acme', notBefore: 0, enabled: true, sslRequired: 'external',
    groups: [{ id: crypto.randomUUID(), name: 'staff', path: '/staff', attributes: {}, realmRoles: [], clientRoles: {},
      subGroups: [{ id: crypto.randomUUID(), name: 'admins', path: '/staff/admins', attributes: {}, realmRoles: [], clientRoles: {}, subGroups: [] }] }],
    users,
  };
  // Keycloak's exporter (Jackson's default pretty printer) writes `"key" : value`.
  return JSON.stringify(realm, null, 2).replace(/^(\s*"[^"]*"): /gm, '$1 : ');
}

describe('import from a Keycloak realm export', () => {
  let dir = '';
  let file = '';
  before(() => {
    for (const p of PEOPLE) noteSecret(p.password);
    dir = tmpDir('latchkey-keycloak-');
    file = path.join(dir, 'acme-realm.json');
    fs.writeFileSync(file, realmExport());
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const { engine, skip } of engines) {
    it(`${engine.name}: users (not the service account), nested groups and addresses come in; each signs in with the same password and then holds argon2id`, { skip }, async () => {
      const db = await freshDatabase(engine);
      try {
        const r = await latchkey(db.url, ['import', '--tenant', 'acme', '--format', 'keycloak', file]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /users: +3 created/);
        assert.match(r.stdout, /groups: +2 created/);
        for (const s of ['keycloak pbkdf2-sha256 1', 'keycloak pbkdf2-sha512 1', 'argon2id 1']) assert.ok(r.stdout.includes(s), `${s} not in ${r.stdout}`);
        const app = await serve(db.url);
        try {
          const t = (await app.store.read.tenants.findByName('acme'))!;
          const alice = (await app.store.read.users.findByUsername(t.pk, 'kc-alice'))!;
          assert.deepEqual(await app.store.read.groups.namesForUser(alice.pk), ['staff', 'staff/admins']);
          assert.equal(alice.emailVerified, true);
          assert.equal(await app.store.read.users.findByUsername(t.pk, 'service-account-backend'), undefined);
          for (const p of PEOPLE) {
            const before = await app.storedHash(p.username, 'acme');
            const verifies = app.counts.verify;
            assert.equal(await app.v1Login(p.username, p.password, 'acme'), 200, p.username);
            assert.equal(app.counts.verify - verifies, 1);
            const now = (await app.storedHash(p.username, 'acme'))!;
            assert.match(now, /^\$argon2id\$/);
            assert.notEqual(now, before);
            assert.equal(await app.restAuthLogin(p.username, p.password + '!', 'acme'), 400);
          }
        } finally {
          await app.close();
        }
      } finally {
        await db.drop();
      }
    });
  }

  it('a credential of an algorithm Latchkey does not know is reported with its line, and nothing is imported', async () => {
    const realm = JSON.parse(fs.readFileSync(file, 'utf8'));
    realm.users[1].credentials[0].credentialData = JSON.stringify({ hashIterations: 1, algorithm: 'md5-crypt', additionalParameters: {} });
    const bad = path.join(dir, 'bad-realm.json');
    fs.writeFileSync(bad, JSON.stringify(realm, null, 2));
    const db = await freshDatabase(engines[0].engine);
    try {
      const r = await latchkey(db.url, ['import', '--format', 'keycloak', bad]);
      assert.equal(r.code, 1);
      const line = fs.readFileSync(bad, 'utf8').split('\n').findIndex((l) => l.includes('"username": "kc-bob"')) + 1;
      assert.match(r.stdout, new RegExp(`line ${line}: unknown password hash scheme "md5-crypt"`));
      assert.match(r.stdout, /Nothing was written/);
      const app = await serve(db.url);
      try {
        const t = (await app.store.read.tenants.findByName('default'))!;
        assert.equal((await app.store.read.users.list(t.pk, { offset: 0, limit: 10 })).count, 0);
      } finally {
        await app.close();
      }
    } finally {
      await db.drop();
    }
  });
});
