// Sealed secrets (TOTP seeds, upstream client secrets) and LATCHKEY_SECRET_KEYS.
//
// Threats: a database dump alone reveals a seed; a sealed value moved into another row opens
// there; rotating keys makes existing seeds unreadable; a lost key file is silently replaced
// (every seed would then fail to open: the failure must be loud and closed instead).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SecretBox } from '../../src/core/secret-box.ts';
import { DomainError } from '../../src/core/errors.ts';
import { parseSecretKeys, secretKeysFor, SECRET_KEY_FILE } from '../../src/config/secret-keys.ts';
import { loadConfig, ConfigError } from '../../src/config/env.ts';

const A = 'a-very-long-random-secret-key-number-one-000';
const B = 'another-very-long-random-secret-key-number-two';

describe('sealed secrets', () => {
  it('seals to a value that holds no plaintext and opens to it again', () => {
    const box = new SecretBox([A]);
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:1:2');
    assert.doesNotMatch(sealed, /JBSWY3DPEHPK3PXP/);
    assert.notEqual(box.seal('JBSWY3DPEHPK3PXP', 'totp:1:2'), sealed, 'a fresh IV each time');
    assert.equal(box.open(sealed, 'totp:1:2'), 'JBSWY3DPEHPK3PXP');
  });

  it('does not open under another context (a value copied into another row)', () => {
    const box = new SecretBox([A]);
    const sealed = box.seal('seed', 'totp:1:2');
    assert.throws(() => box.open(sealed, 'totp:1:3'), (e: unknown) => e instanceof DomainError && e.code === 'UNAVAILABLE');
  });

  it('refuses tampered and malformed values', () => {
    const box = new SecretBox([A]);
    const sealed = box.seal('seed', 'c');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[0] ^= 1;
    for (const bad of [[...parts.slice(0, 3), body.toString('base64url')].join('.'), 'lk1', '', 'x.y.z.w', sealed + '.extra']) {
      assert.throws(() => box.open(bad, 'c'), DomainError, bad);
    }
  });

  it('rotates: the first key seals, every key opens, reseal moves a value to the first', () => {
    const old = new SecretBox([A]);
    const sealed = old.seal('seed', 'c');
    const rotated = new SecretBox([B, A]);
    assert.equal(rotated.open(sealed, 'c'), 'seed');
    assert.equal(rotated.isCurrent(sealed), false);
    const moved = rotated.reseal(sealed, 'c');
    assert.equal(rotated.isCurrent(moved), true);
    assert.equal(new SecretBox([B]).open(moved, 'c'), 'seed');
    assert.throws(() => new SecretBox([B]).open(sealed, 'c'), DomainError, 'the dropped key no longer opens');
  });

  it('LATCHKEY_SECRET_KEYS: a list, short keys refused at start with a clear message', () => {
    assert.deepEqual(parseSecretKeys(` ${A}, ${B} `), [A, B]);
    assert.equal(parseSecretKeys(''), undefined);
    assert.throws(() => loadConfig({ LATCHKEY_SECRET_KEYS: `${A},short` }), (e: unknown) => e instanceof ConfigError && /key 2 is 5 characters/.test(e.message));
    assert.deepEqual(loadConfig({ LATCHKEY_SECRET_KEYS: A }).secretKeys, [A]);
  });

  it('unset: generated once into the data directory with mode 0600 and reused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-keys-'));
    try {
      const first = secretKeysFor(undefined, dir);
      assert.equal(first.generated, path.join(dir, SECRET_KEY_FILE));
      assert.equal(fs.statSync(first.generated!).mode & 0o777, 0o600);
      const again = secretKeysFor(undefined, dir);
      assert.equal(again.generated, undefined);
      assert.deepEqual(again.keys, first.keys);
      // A damaged key file is an error, never silently replaced.
      fs.writeFileSync(first.generated!, 'short\n');
      assert.throws(() => secretKeysFor(undefined, dir), ConfigError);
      // Configured keys win over the file.
      assert.deepEqual(secretKeysFor([A], dir).keys, [A]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
