// Imported password hashes are checked in their own scheme, with hashes made by other people's
// code: Django's make_password (Debian's python3-django, with python3-bcrypt and python3-argon2),
// Debian's python3-bcrypt, Keycloak-style credentials from hashlib/argon2-cffi with Keycloak's
// published parameters, and better-auth's own hashPassword (npm). The threat: a hand-made
// variant of a scheme that accepts a wrong password, or a string no scheme can read that is
// guessed at instead of refused.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { hashPassword } from 'better-auth/crypto';
import { createArgon2Hasher } from '../../src/core/index.ts';
import { describeHash, keycloakArgon2Phc } from '../../src/core/credentials/imported-hashes.ts';
import { noteSecret } from '../helpers/secret-log.ts';

const PASSWORD = 'correct horse ✓ battery';
const hasher = createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

interface KcCred { value: string; salt: string; iterations: number }
function pythonHashes(password: string): Record<string, string | KcCred> {
  const out = execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'helpers/python-hashes.py')], { input: JSON.stringify({ password }) });
  return JSON.parse(out.toString());
}

describe('imported password hashes: each verified in its own scheme', () => {
  let made: Record<string, string> = {};
  before(async () => {
    noteSecret(PASSWORD);
    const py = pythonHashes(PASSWORD);
    const kc = (k: string) => py[k] as KcCred;
    made = Object.fromEntries(Object.entries(py).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    made.keycloak_pbkdf2_sha256 = `keycloak-pbkdf2-sha256$${kc('keycloak_pbkdf2_sha256').iterations}$${kc('keycloak_pbkdf2_sha256').salt}$${kc('keycloak_pbkdf2_sha256').value}`;
    made.keycloak_pbkdf2_sha512 = `keycloak-pbkdf2-sha512$${kc('keycloak_pbkdf2_sha512').iterations}$${kc('keycloak_pbkdf2_sha512').salt}$${kc('keycloak_pbkdf2_sha512').value}`;
    made.keycloak_argon2 = keycloakArgon2Phc({
      type: 'id', version: '1.3', memory: 7168, iterations: 5, parallelism: 1,
      salt: Buffer.from(kc('keycloak_argon2').salt, 'base64'), hash: Buffer.from(kc('keycloak_argon2').value, 'base64'),
    });
    made.better_auth = await hashPassword(PASSWORD);
  });

  const expected: Record<string, string> = {
    django_pbkdf2_sha256: 'django pbkdf2_sha256', django_pbkdf2_sha1: 'django pbkdf2_sha1', django_argon2: 'django argon2',
    django_bcrypt_sha256: 'django bcrypt_sha256', django_bcrypt: 'django bcrypt', django_scrypt: 'django scrypt',
    bcrypt_2a: 'bcrypt', bcrypt_2b: 'bcrypt', bcrypt_2y: 'bcrypt',
    keycloak_pbkdf2_sha256: 'keycloak pbkdf2-sha256', keycloak_pbkdf2_sha512: 'keycloak pbkdf2-sha512', keycloak_argon2: 'argon2id',
    better_auth: 'better-auth scrypt',
  };
  for (const [key, scheme] of Object.entries(expected)) {
    it(`${key}: recognised as "${scheme}", the right password matches, a wrong one and a near miss do not, and it needs a rehash`, async () => {
      const stored = made[key];
      assert.ok(stored, `no ${key} hash was made`);
      assert.deepEqual(describeHash(stored), { scheme });
      assert.equal(await hasher.verify(stored, PASSWORD), true);
      assert.equal(await hasher.verify(stored, 'wrong password'), false);
      assert.equal(await hasher.verify(stored, PASSWORD.slice(0, -1)), false);
      assert.equal(await hasher.verify(stored, PASSWORD.normalize('NFD') === PASSWORD ? PASSWORD + ' ' : PASSWORD.toUpperCase()), false);
      assert.equal(hasher.needsRehash(stored), true);
    });
  }

  it('a tampered hash of each scheme never matches (the key, not just the prefix, is checked)', async () => {
    for (const [key, stored] of Object.entries(made)) {
      // A character well inside the key (the last ones of base64 may carry only padding bits).
      const at = stored.length - 8;
      const tampered = stored.slice(0, at) + (stored[at] === 'a' ? 'b' : 'a') + stored.slice(at + 1);
      assert.equal(await hasher.verify(tampered, PASSWORD), false, `${key} matched after tampering`);
    }
  });

  it('unknown and malformed schemes are reported, not guessed, and never match', async () => {
    const cases: Array<[string, RegExp]> = [
      ['md5$salt$0123456789abcdef0123456789abcdef', /unknown password hash scheme "md5"/],
      ['sha1$salt$0123456789abcdef0123456789abcdef01234567', /unknown password hash scheme "sha1"/],
      ['plain-text-password', /unknown password hash scheme/],
      ['pbkdf2_sha256$abc$salt$key', /malformed Django pbkdf2_sha256/],
      ['pbkdf2_sha256$260000$salt$dG9vc2hvcnQ=', /malformed Django pbkdf2_sha256/],
      ['bcrypt$$2b$12$tooShort', /malformed bcrypt/],
      ['$2b$03$' + 'a'.repeat(53), /malformed bcrypt/],
      ['scrypt$1000$salt$8$1$' + Buffer.alloc(64).toString('base64'), /malformed Django scrypt/],
      ['keycloak-pbkdf2-sha256$27500$not base64$AAAA', /malformed Keycloak pbkdf2-sha256/],
      ['abcdef:1234', /malformed better-auth/],
      ['$argon2id$v=19$m=19456,t=2,p=1$onlysalt', /argon2/],
      ['$2b$31$' + 'a'.repeat(53), /malformed bcrypt/],
      ['$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$' + 'A'.repeat(43), /beyond what a sign-in may spend/],
      ['scrypt$1048576$salt$64$1$' + Buffer.alloc(64).toString('base64'), /malformed Django scrypt/],
    ];
    for (const [stored, problem] of cases) {
      const d = describeHash(stored);
      assert.ok('problem' in d, `${stored} was accepted as ${JSON.stringify(d)}`);
      assert.match(d.problem, problem);
      assert.equal(await hasher.verify(stored, PASSWORD), false);
    }
  });

  it('Latchkey\'s own argon2id hashes are described as argon2id and need no rehash at the current parameters', async () => {
    const own = await hasher.hash(PASSWORD);
    assert.deepEqual(describeHash(own), { scheme: 'argon2id' });
    assert.equal(hasher.needsRehash(own), false);
    assert.equal(await hasher.verify(own, PASSWORD), true);
  });
});
