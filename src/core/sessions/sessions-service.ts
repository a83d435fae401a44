// Cookie sessions. The cookie value is `<id>.<secret>`; only SHA-256 of the secret is stored, and
// each session has its own CSRF token (also stored hashed) that unsafe requests must echo.
import type { Store, Repos } from '../store.ts';
import type { StoredSession } from './sessions-repo.ts';
import type { Clock } from '../clock.ts';
import type { User } from '../types.ts';
import { randomToken, safeEqual, sha256 } from '../secrets.ts';
import type { SettingsService } from '../settings/settings-service.ts';

export interface NewSession {
  id: string;
  /** The `sessionid` cookie's value. */
  cookie: string;
  /** The CSRF token to hand the browser (cookie `csrftoken`, echoed in `X-CSRFToken`). */
  csrfToken: string;
  expiresAt: number;
}

export interface SessionRecord {
  id: string;
  userPk: number;
  tenantPk: number;
  expiresAt: number;
  csrfHash: string;
  /** When a factor was last checked in this session (its sign-in or a reauthentication). */
  authenticatedAt: number;
  /** What its sign-in proved (`pwd`, `otp`, `webauthn`, ...). */
  amr: string[];
}

export class SessionsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly settings: SettingsService;

  constructor(store: Store, clock: Clock, settings: SettingsService) {
    this.store = store;
    this.clock = clock;
    this.settings = settings;
  }

  /** Opens a session for a user; pass `repos` to take part in the caller's transaction. */
  async create(user: User, repos?: Pick<Repos, 'sessions'>, amr: readonly string[] = []): Promise<NewSession> {
    const { session_lifetime } = await this.settings.forTenant(user.tenantPk);
    const id = randomToken(16);
    const secret = randomToken(32);
    const csrfToken = randomToken(32);
    const now = this.clock.now();
    const row = {
      id, secret_hash: sha256(secret), csrf_hash: sha256(csrfToken), tenant_pk: user.tenantPk, user_pk: user.pk,
      created_at: now, expires_at: now + session_lifetime * 1000, authenticated_at: now, amr: amr.join(' ') || null,
    };
    if (repos) await repos.sessions.insert(row);
    else await this.store.transaction((r) => r.sessions.insert(row));
    return { id, cookie: `${id}.${secret}`, csrfToken, expiresAt: row.expires_at };
  }

  /** The live session a cookie names, or null (malformed, unknown, wrong secret, or expired). */
  async find(cookie: string): Promise<SessionRecord | null> {
    const dot = cookie.indexOf('.');
    if (dot <= 0 || cookie.length > 200 || cookie.includes('\0')) return null; // PostgreSQL text cannot hold NUL
    const row = await this.store.read.sessions.find(cookie.slice(0, dot));
    if (!row || !safeEqual(row.secret_hash, sha256(cookie.slice(dot + 1)))) return null;
    if (row.expires_at <= this.clock.now()) return null;
    return this.record(row);
  }

  /** The live session of this id (no secret checked: for a session the caller already holds). */
  async byId(id: string): Promise<SessionRecord | null> {
    const row = await this.store.read.sessions.find(id);
    if (!row || row.expires_at <= this.clock.now()) return null;
    return this.record(row);
  }

  private record(row: StoredSession): SessionRecord {
    return {
      id: row.id, userPk: row.user_pk, tenantPk: row.tenant_pk, expiresAt: row.expires_at, csrfHash: row.csrf_hash,
      // Sessions made before second factors existed count as signed in when they were made.
      authenticatedAt: Number(row.authenticated_at ?? row.created_at), amr: row.amr ? row.amr.split(' ') : [],
    };
  }

  checkCsrf(session: SessionRecord, token: string | undefined): boolean {
    return token !== undefined && token.length <= 200 && safeEqual(session.csrfHash, sha256(token));
  }

  /** The session proved itself again (a password or a second factor): its reauthentication window starts now. */
  async reauthenticated(session: SessionRecord, method: string): Promise<void> {
    const amr = [...new Set([...session.amr, method])].join(' ');
    await this.store.transaction((r) => r.sessions.reauthenticated(session.id, this.clock.now(), amr));
  }

  async end(id: string): Promise<void> {
    await this.store.transaction((r) => r.sessions.delete(id));
  }
}
