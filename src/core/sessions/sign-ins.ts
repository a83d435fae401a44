// A user's own view of where it is signed in (JWT refresh families and cookie sessions), and
// the means to end any one of them.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Principal } from '../types.ts';
import { notFound } from '../errors.ts';

export interface SignIn {
  /** `jwt:<family id>`, `session:<session id>` or `token:<key id>`. */
  id: string;
  kind: 'jwt' | 'session' | 'token';
  createdAt: number;
  expiresAt: number;
  clientId: string | null;
  /** The sign-in this request was made with. */
  current: boolean;
}

export class SignInsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly events: Events;

  constructor(store: Store, clock: Clock, events: Events) {
    this.store = store;
    this.clock = clock;
    this.events = events;
  }

  async list(p: Principal): Promise<SignIn[]> {
    const now = this.clock.now();
    const families = await this.store.read.tokens.liveFamilies(p.user.pk, now);
    const sessions = await this.store.read.sessions.liveForUser(p.user.pk, now);
    const keys = await this.store.read.tokenKeys.forUser(p.user.pk);
    return [
      ...keys.map((k) => ({
        // A token key lives until logout or a password change.
        id: `token:${k.id}`, kind: 'token' as const, createdAt: k.created_at, expiresAt: Number.MAX_SAFE_INTEGER, clientId: null,
        current: k.key_hash === p.tokenKeyHash,
      })),
      ...families.map((f) => ({
        id: `jwt:${f.id}`, kind: 'jwt' as const, createdAt: f.created_at, expiresAt: Number(f.expires_at), clientId: f.client_id ?? null,
        current: f.id === p.familyId,
      })),
      ...sessions.map((s) => ({
        id: `session:${s.id}`, kind: 'session' as const, createdAt: s.created_at, expiresAt: s.expires_at, clientId: null,
        current: s.id === p.sessionId,
      })),
    ].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Ends one of the caller's own sign-ins; NOT_FOUND for anything else. */
  async revoke(p: Principal, id: string): Promise<void> {
    const [kind, key] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
    const now = this.clock.now();
    if (kind === 'jwt') {
      const family = await this.store.read.tokens.findFamily(key);
      if (!family || family.user_pk !== p.user.pk || family.revoked_at !== null) throw notFound();
      await this.store.transaction(async (r) => {
        await r.tokens.revokeFamily(key, 'revoked_by_user', now);
        await this.events.emit({ type: 'token.revoked', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { reason: 'revoked_by_user' } });
      });
      return;
    }
    if (kind === 'session') {
      const session = await this.store.read.sessions.find(key);
      if (!session || session.user_pk !== p.user.pk) throw notFound();
      await this.store.transaction(async (r) => {
        await r.sessions.delete(key);
        // The tokens handed out with the session end with it.
        await r.tokens.revokeSessionFamilies(key, 'revoked_by_user', now);
        await this.events.emit({ type: 'session.ended', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { reason: 'revoked_by_user' } });
      });
      return;
    }
    if (kind === 'token') {
      const k = await this.store.read.tokenKeys.findById(key);
      if (!k || k.user_pk !== p.user.pk) throw notFound();
      await this.store.transaction(async (r) => {
        await r.tokenKeys.delete(k.key_hash);
        await this.events.emit({ type: 'token.revoked', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { reason: 'revoked_by_user' } });
      });
      return;
    }
    throw notFound();
  }
}
