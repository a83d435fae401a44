// No lock-in: `latchkey export` writes a tenant as JSON Lines and `latchkey import --format
// jsonl` reads it into a fresh Latchkey unchanged: the same users (UUIDs, flags, names, times,
// profile), password hashes of every scheme, addresses, groups and memberships, settings, and
// clients (without secrets: a confidential client gets a new one; first_party kept). On SQLite and PostgreSQL,
// and from one engine to the other; the same passwords sign in afterwards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hashPassword } from 'better-auth/crypto';
import { createArgon2Hasher } from '../../src/core/index.ts';
import { engines, type Engine } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { freshDatabase, latchkey, serve, tmpDir } from './helpers/import-harness.ts';

const UPSTREAM_SECRET = 'upstream-client-secret-9f8e7d';
const PASSWORDS = { native: 'native-argon2id-pass', bcrypt: 'bcrypt-from-python-3', django: 'django-pbkdf2-pass-4', betterAuth: 'better-äuth-scrypt-5' };

async function sourceFile(dir: string): Promise<string> {
  const py = (pw: string) => JSON.parse(execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'helpers/python-hashes.py')], { input: JSON.stringify({ password: pw }) }).toString());
  const lines = [
    { type: 'tenant', name: 'acme', display_name: 'Acme Corp' },
    { type: 'setting', key: 'password_min_length', value: '12' },
    { type: 'setting', key: 'login_lockout_threshold', value: '7' },
    { type: 'setting', key: 'social_providers', value: JSON.stringify([{ id: 'corp', name: 'Corp SSO', authorize_url: 'https://sso.acme.test/auth', token_url: 'https://sso.acme.test/token', client_id: 'latchkey', client_secret: UPSTREAM_SECRET }]) },
    { type: 'group', name: 'staff' }, { type: 'group', name: 'editors' }, { type: 'group', name: 'nobody-yet' },
    { type: 'client', client_id: 'acme-web', name: 'Acme web', confidential: true, grant_types: ['password', 'refresh_token'], redirect_uris: [], scopes: [] },
    { type: 'client', client_id: 'acme-spa', name: 'Acme SPA', confidential: false, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://app.acme.test/cb'], scopes: ['openid', 'profile'], first_party: true },
    {
      type: 'user', id: '0b6f3f52-1111-4c1e-9a39-2f4d5b9c0a01', username: 'native', email: 'native@acme.test', first_name: 'Nat', last_name: 'Ive',
      password_hash: await createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }).hash(PASSWORDS.native),
      is_staff: true, last_login: '2025-05-01T10:00:00.000Z', date_joined: '2024-01-02T03:04:05.000Z', password_changed_at: '2024-06-01T00:00:00.000Z',
      profile: { team: 'core', level: 3 }, emm: { device: 'x1' }, avatar: 'https://cdn.acme.test/n.png',
      emails: [{ email: 'native@acme.test', verified: true, primary: true }, { email: 'nat.alt@acme.test', verified: false, primary: false }], groups: ['staff', 'editors'],
    },
    { type: 'user', username: 'bcrypt-user', email: 'b@acme.test', password_hash: py(PASSWORDS.bcrypt).bcrypt_2b, groups: ['editors'], emails: [{ email: 'b@acme.test', verified: true, primary: true }] },
    { type: 'user', username: 'django-user', email: 'd@acme.test', password_hash: py(PASSWORDS.django).django_pbkdf2_sha256, is_active: false },
    { type: 'user', username: 'ba-user', email: 'ba@acme.test', password_hash: await hashPassword(PASSWORDS.betterAuth) },
    { type: 'user', username: 'root', email: '', password_hash: null, is_superuser: true, is_staff: true },
  ];
  const file = path.join(dir, 'source.jsonl');
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/** An export without its first line (which says when it was made). */
const body = (file: string) => fs.readFileSync(file, 'utf8').split('\n').slice(1).join('\n');

describe('export, then import into a fresh Latchkey: the same tenant', () => {
  let dir = '';
  let source = '';
  before(async () => {
    for (const p of [...Object.values(PASSWORDS), UPSTREAM_SECRET]) noteSecret(p);
    dir = tmpDir('latchkey-roundtrip-');
    source = await sourceFile(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function roundTrip(from: Engine, to: Engine, tag: string) {
    const a = await freshDatabase(from);
    const b = await freshDatabase(to);
    try {
      const first = await latchkey(a.url, ['import', '--format', 'jsonl', source]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const outA = path.join(dir, `${tag}-a.jsonl`);
      const exp = await latchkey(a.url, ['export', '--tenant', 'acme', outA]);
      assert.equal(exp.code, 0, exp.stderr);
      assert.match(exp.stderr, /not exported: setting social_providers: it holds the upstream providers' client secrets/);
      assert.ok(!fs.readFileSync(outA, 'utf8').includes(UPSTREAM_SECRET), 'no upstream client secret in the export');
      assert.equal(fs.statSync(outA).mode & 0o777, 0o600, 'the export holds hashes: owner only');
      const stdoutExport = await latchkey(a.url, ['export', '--tenant', 'acme']);
      assert.equal(stdoutExport.stdout.split('\n').slice(1).join('\n'), body(outA), 'standard output carries the same export');

      const second = await latchkey(b.url, ['import', '--format', 'jsonl', outA]);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.match(second.stdout, /tenant "acme" \(created\)/);
      assert.match(second.stdout, /users: +5 created/);
      assert.match(second.stdout, /clients: 2 created/);
      const outB = path.join(dir, `${tag}-b.jsonl`);
      assert.equal((await latchkey(b.url, ['export', '--tenant', 'acme', outB])).code, 0);
      assert.equal(body(outB), body(outA), 'the second Latchkey exports exactly what the first did');

      const lines = body(outA).trim().split('\n').map((l) => JSON.parse(l));
      const native = lines.find((l) => l.username === 'native');
      assert.equal(native.id, '0b6f3f52-1111-4c1e-9a39-2f4d5b9c0a01');
      assert.deepEqual(native.profile, { team: 'core', level: 3 });
      assert.equal(native.date_joined, '2024-01-02T03:04:05.000Z');
      assert.deepEqual(native.emails.map((e: { email: string }) => e.email), ['native@acme.test', 'nat.alt@acme.test']);
      assert.deepEqual(lines.filter((l) => l.type === 'setting').map((l) => [l.key, l.value]), [['login_lockout_threshold', '7'], ['password_min_length', '12']]);
      assert.deepEqual(lines.filter((l) => l.type === 'group').map((l) => l.name), ['staff', 'editors', 'nobody-yet']);
      const clients = lines.filter((l) => l.type === 'client');
      // acme-web's line has no first_party: imported as false, exported as false.
      assert.deepEqual(clients.map((c) => [c.client_id, c.confidential, c.first_party]), [['acme-web', true, false], ['acme-spa', false, true]]);
      assert.ok(!/secret/i.test(JSON.stringify(clients)), 'no client secret is exported');

      const app = await serve(b.url);
      try {
        for (const [username, password] of [['native', PASSWORDS.native], ['bcrypt-user', PASSWORDS.bcrypt], ['ba-user', PASSWORDS.betterAuth]]) {
          assert.equal(await app.v1Login(username, password, 'acme'), 200, username);
        }
        assert.notEqual(await app.v1Login('django-user', PASSWORDS.django, 'acme'), 200, 'still inactive');
        const web = await app.store.read.clients.find('acme-web');
        assert.ok(web?.secretHash, 'the confidential client has a new secret');
        assert.equal(web?.firstParty, false);
        assert.equal((await app.store.read.clients.find('acme-spa'))?.firstParty, true, 'a first-party client stays first party');
      } finally {
        await app.close();
      }
    } finally {
      await a.drop();
      await b.drop();
    }
  }

  for (const { engine, skip } of engines) {
    it(`${engine.name}: export -> import into a fresh database -> export gives the same file; the same passwords sign in`, { skip }, () => roundTrip(engine, engine, engine.name));
  }
  it('into another tenant: the export of acme imported with --tenant beta keeps each client\'s first_party', async () => {
    const a = await freshDatabase(engines[0].engine);
    const b = await freshDatabase(engines[0].engine);
    try {
      assert.equal((await latchkey(a.url, ['import', '--format', 'jsonl', source])).code, 0);
      const out = path.join(dir, 'other-tenant.jsonl');
      assert.equal((await latchkey(a.url, ['export', '--tenant', 'acme', out])).code, 0);
      const imported = await latchkey(b.url, ['import', '--tenant', 'beta', '--format', 'jsonl', out]);
      assert.equal(imported.code, 0, imported.stdout + imported.stderr);
      assert.match(imported.stdout, /clients: 2 created/);
      const app = await serve(b.url);
      try {
        const beta = (await app.store.read.tenants.list()).find((t) => t.name === 'beta');
        assert.ok(beta, 'tenant beta was made');
        const spa = await app.store.read.clients.find('acme-spa');
        const web = await app.store.read.clients.find('acme-web');
        assert.deepEqual([spa?.tenantPk, spa?.firstParty], [beta.pk, true]);
        assert.deepEqual([web?.tenantPk, web?.firstParty], [beta.pk, false]);
      } finally {
        await app.close();
      }
    } finally {
      await a.drop();
      await b.drop();
    }
  });
  it('SQLite -> PostgreSQL and back: the same file', { skip: engines[1].skip }, async () => {
    await roundTrip(engines[0].engine, engines[1].engine, 'sqlite-pg');
    await roundTrip(engines[1].engine, engines[0].engine, 'pg-sqlite');
  });
});
