// Moving in from Django: a real Django project (Debian's python3-django and django-allauth),
// migrated, with users made by Django's own make_password (its default PBKDF2 hasher, and its
// bcrypt, bcrypt_sha256, argon2 and PBKDF2-SHA1 hashers), groups and allauth addresses, dumped
// with `manage.py dumpdata` and imported by the real `latchkey import --format django`, on
// SQLite and PostgreSQL. Every user then signs in over HTTP with the same password, through the
// v1 `POST /api/token` and through REST-auth's login, and the stored hash becomes argon2id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { freshDatabase, latchkey, serve, tmpDir } from './helpers/import-harness.ts';

interface DjangoUser {
  username: string;
  password: string;
  email: string;
  hasher?: string;
  verified?: boolean;
  groups?: string[];
  superuser?: boolean;
  is_active?: boolean;
  first_name?: string;
  unusable?: boolean;
}

const USERS: DjangoUser[] = [
  { username: 'admin', password: 'admin-Passw0rd-1', email: 'admin@example.com', superuser: true, verified: true },
  { username: 'alice', password: 'alice-correct-horse', email: 'alice@example.com', verified: true, groups: ['editors', 'staff'], first_name: 'Alice' },
  { username: 'bob', password: 'bob-battery-staple', email: 'bob@example.com', hasher: 'bcrypt_sha256', groups: ['editors'] },
  { username: 'carol', password: 'carol-tr0ub4dor', email: 'carol@example.com', hasher: 'bcrypt' },
  { username: 'dave', password: 'dävé-ünïcode-pässwörd', email: 'dave@example.com', hasher: 'argon2', verified: true },
  { username: 'erin', password: 'erin-sha1-legacy', email: '', hasher: 'pbkdf2_sha1' },
  { username: 'frank', password: 'frank-is-inactive', email: 'frank@example.com', is_active: false },
  // Django's set_unusable_password(): "!" and random text; imported as no password.
  { username: 'gina', password: 'gina-has-no-usable-password', email: 'gina@example.com', unusable: true },
];
const SCHEMES: Record<string, string> = {
  admin: 'django pbkdf2_sha256', alice: 'django pbkdf2_sha256', bob: 'django bcrypt_sha256', carol: 'django bcrypt',
  dave: 'django argon2', erin: 'django pbkdf2_sha1', frank: 'django pbkdf2_sha256', gina: 'none',
};

describe('import from a real Django project (dumpdata JSON and CSV)', () => {
  let dir = '';
  before(() => {
    for (const u of USERS) noteSecret(u.password);
    dir = tmpDir('latchkey-django-');
    execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'helpers/django-project.py'), path.join(dir, 'project')], { input: JSON.stringify(USERS), stdio: ['pipe', 'ignore', 'inherit'] });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const { engine, skip } of engines) {
    describe(engine.name, { skip }, () => {
      it('dumpdata: every user, group and address comes in; each hash scheme is reported; every active user signs in through v1 with the same password, costing one verification, and the hash becomes argon2id', async () => {
        const db = await freshDatabase(engine);
        try {
          const dump = path.join(dir, 'project', 'dump.json');
          const r = await latchkey(db.url, ['import', '--format', 'django', dump]);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.match(r.stdout, /users: +8 created, 0 updated, 0 skipped/);
          assert.match(r.stdout, /groups: +3 created/);
          assert.match(r.stdout, /django pbkdf2_sha256 3/);
          for (const s of ['django bcrypt_sha256 1', 'django bcrypt 1', 'django argon2 1', 'django pbkdf2_sha1 1', 'none 1']) assert.ok(r.stdout.includes(s), `${s} not in ${r.stdout}`);

          const app = await serve(db.url);
          try {
            const tenant = (await app.store.read.tenants.findByName('default'))!;
            const alice = (await app.store.read.users.findByUsername(tenant.pk, 'alice'))!;
            assert.equal(alice.firstName, 'Alice');
            assert.deepEqual(await app.store.read.groups.namesForUser(alice.pk), ['editors', 'staff']);
            const addresses = (await app.store.read.emailAddresses.forUser(alice.pk)).items;
            assert.deepEqual(addresses.map((a) => [a.email, a.verified, a.primary]), [['alice@example.com', true, true]]);
            assert.equal(alice.emailVerified, true);
            const admin = (await app.store.read.users.findByUsername(tenant.pk, 'admin'))!;
            assert.equal(admin.isSuperuser && admin.isStaff, true);

            for (const u of USERS) {
              const before = await app.storedHash(u.username);
              assert.ok(u.unusable ? before === null : before && !before.startsWith('$argon2id$'), `${u.username}: ${before}`);
              const verifies = app.counts.verify;
              const status = await app.v1Login(u.username, u.password);
              assert.equal(app.counts.verify - verifies, 1, `${u.username}: one verification per sign-in`);
              if (u.is_active === false || u.unusable) {
                assert.notEqual(status, 200, 'an inactive Django user stays unable to sign in');
                continue;
              }
              assert.equal(status, 200, `${u.username} (${SCHEMES[u.username]}) could not sign in`);
              assert.notEqual(await app.v1Login(u.username, u.password + 'x'), 200);
              const afterHash = await app.storedHash(u.username);
              assert.match(afterHash!, /^\$argon2id\$/, `${u.username}: rehashed to argon2id`);
              assert.notEqual(afterHash, before);
              // The new hash holds the same password, on every dialect.
              assert.equal(await app.restAuthLogin(u.username, u.password), 200);
            }
            const verifies = app.counts.verify;
            assert.notEqual(await app.v1Login('nobody-imported', 'whatever-password'), 200);
            assert.equal(app.counts.verify - verifies, 1, 'an unknown user still costs one dummy verification');
          } finally {
            await app.close();
          }
        } finally {
          await db.drop();
        }
      });

      it('CSV with auth_user\'s columns, into a named tenant: every active user signs in through REST-auth with the same password', async () => {
        const db = await freshDatabase(engine);
        try {
          const r = await latchkey(db.url, ['import', '--tenant', 'legacy', '--format', 'django', path.join(dir, 'project', 'users.csv')]);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.match(r.stdout, /tenant "legacy" \(created\)/);
          assert.match(r.stdout, /users: +8 created/);
          const app = await serve(db.url);
          try {
            for (const u of USERS) {
              const status = await app.restAuthLogin(u.username, u.password, 'legacy');
              const able = u.is_active !== false && !u.unusable;
              assert.equal(status === 200, able, `${u.username}: ${status}`);
              if (able) assert.match((await app.storedHash(u.username, 'legacy'))!, /^\$argon2id\$/);
            }
            const t = (await app.store.read.tenants.findByName('legacy'))!;
            const bob = (await app.store.read.users.findByUsername(t.pk, 'bob'))!;
            assert.deepEqual(await app.store.read.groups.namesForUser(bob.pk), ['editors']);
          } finally {
            await app.close();
          }
        } finally {
          await db.drop();
        }
      });
    });
  }
});
