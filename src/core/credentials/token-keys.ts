// Token keys (`Authorization: Token <key>`), as dj-rest-auth hands out at sign-in: one per
// sign-in, 64 random URL-safe characters, stored only as SHA-256, deleted at logout.
import type { Repos, Store } from '../../store/index.ts';
import type { Clock } from '../clock.ts';
import type { Principal, User } from '../types.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import { randomToken, sha256 } from '../secrets.ts';

export class TokenKeys {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly tenants: TenantsService;

  constructor(store: Store, clock: Clock, tenants: TenantsService) {
    this.store = store;
    this.clock = clock;
    this.tenants = tenants;
  }

  /** Issues a key for a user, inside the caller's transaction. */
  async issue(r: Repos, user: User, sessionId: string | null): Promise<string> {
    const key = randomToken(48);
    await r.tokenKeys.insert({ key_hash: sha256(key), id: randomToken(12), tenant_pk: user.tenantPk, user_pk: user.pk, session_id: sessionId, created_at: this.clock.now() });
    return key;
  }

  /** The Principal behind a key, or null when it is unknown or its user can no longer act. */
  async authenticate(key: string): Promise<Principal | null> {
    if (key.length < 20 || key.length > 200) return null;
    const hash = sha256(key);
    const row = await this.store.read.tokenKeys.find(hash);
    if (!row) return null;
    const user = await this.store.read.users.findByPk(row.user_pk);
    if (!user || !user.isActive || user.tenantPk !== row.tenant_pk) return null;
    const tenant = await this.tenants.byPk(user.tenantPk);
    if (!tenant?.isActive) return null;
    return { kind: 'user', user, tenant, method: 'token', tokenKeyHash: hash };
  }
}
