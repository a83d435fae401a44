// Secrets that must be read back (TOTP seeds, upstream providers' client secrets) are kept
// sealed: AES-256-GCM (node:crypto) under the first of LATCHKEY_SECRET_KEYS, opened by any of
// them, so keys rotate (add a new key first, reseal, drop the old one). Each sealed value names
// its key by id and is bound to its purpose (`context`, e.g. "totp:<tenant>:<user>") as
// additional data, so a value copied into another row or field does not open there.
import crypto from 'node:crypto';
import { DomainError } from './errors.ts';

const PREFIX = 'lk1';

interface DerivedKey {
  id: string;
  key: Buffer;
}

/** Keys are derived from the configured strings with HKDF, so any long random string will do. */
function derive(secret: string): DerivedKey {
  const key = Buffer.from(crypto.hkdfSync('sha256', secret, 'latchkey-secret-box', 'aes-256-gcm', 32));
  const id = crypto.hash('sha256', key, 'base64url').slice(0, 8);
  return { id, key };
}

export const SECRET_KEY_MIN_LENGTH = 32;

export class SecretBox {
  private readonly keys: DerivedKey[];

  /** `secrets[0]` seals; every one opens. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('SecretBox needs at least one key');
    for (const s of secrets) {
      if (s.length < SECRET_KEY_MIN_LENGTH) throw new Error(`each secret key must be at least ${SECRET_KEY_MIN_LENGTH} characters`);
    }
    this.keys = secrets.map(derive);
  }

  /** A box with a key of its own, for a process that keeps nothing across restarts (tests). */
  static ephemeral(): SecretBox {
    return new SecretBox([crypto.randomBytes(32).toString('base64url')]);
  }

  seal(plaintext: string, context: string): string {
    const { id, key } = this.keys[0];
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}.${id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** The plaintext; UNAVAILABLE when no configured key opens it (fails closed). */
  open(sealed: string, context: string): string {
    const [prefix, id, ivText, bodyText, extra] = sealed.split('.');
    const entry = this.keys.find((k) => k.id === id);
    if (prefix !== PREFIX || extra !== undefined || !entry || !ivText || !bodyText) throw unreadable();
    try {
      const body = Buffer.from(bodyText, 'base64url');
      const decipher = crypto.createDecipheriv('aes-256-gcm', entry.key, Buffer.from(ivText, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(body.subarray(body.length - 16));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw unreadable();
    }
  }

  /** Whether `sealed` is sealed under the current key (else `reseal` moves it there). */
  isCurrent(sealed: string): boolean {
    return sealed.split('.')[1] === this.keys[0].id;
  }

  reseal(sealed: string, context: string): string {
    return this.isCurrent(sealed) ? sealed : this.seal(this.open(sealed, context), context);
  }
}

const unreadable = () => new DomainError('UNAVAILABLE', 'A stored secret cannot be read with the configured LATCHKEY_SECRET_KEYS.');
