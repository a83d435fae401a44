// Token keys (`Authorization: Token <key>`), as dj-rest-auth hands out at sign-in: one per
// sign-in, 64 random URL-safe characters, stored only as SHA-256, deleted at logout. Checking a
// presented key is Credentials.tokenKey (authentication/credentials.ts).
import type { Repos } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { User } from '../types.ts';
import { randomToken, sha256 } from '../secrets.ts';

export class TokenKeys {
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Issues a key for a user, inside the caller's transaction. */
  async issue(r: Pick<Repos, 'tokenKeys'>, user: User, sessionId: string | null): Promise<string> {
    const key = randomToken(48);
    await r.tokenKeys.insert({ key_hash: sha256(key), id: randomToken(12), tenant_pk: user.tenantPk, user_pk: user.pk, session_id: sessionId, created_at: this.clock.now() });
    return key;
  }
}
