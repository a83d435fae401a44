// Signing out: ending what the caller signed in with, and nothing else of the user's.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { TokenPairs } from '../tokens/token-pairs.ts';
import type { Principal } from '../types.ts';

export class SignOut {
  private readonly d: { store: Store; clock: Clock; events: Events; tokenPairs: TokenPairs };

  constructor(deps: SignOut['d']) {
    this.d = deps;
  }

  /**
   * Ends the caller's sign-in: its refresh family (and so its access tokens), session or token
   * key; and a refresh token it names, if that is its own.
   */
  async signOut(p: Principal, refreshToken?: string): Promise<void> {
    const now = this.d.clock.now();
    let extraFamily: string | undefined;
    if (refreshToken) {
      const key = await this.d.tokenPairs.presented(refreshToken);
      const found = key && (await this.d.store.read.tokens.findRefresh(key));
      if (found && found.user_pk === p.user.pk) extraFamily = found.family_id;
    }
    await this.d.store.transaction(async (r) => {
      if (p.familyId) await r.tokens.revokeFamily(p.familyId, 'logout', now);
      if (extraFamily) await r.tokens.revokeFamily(extraFamily, 'logout', now);
      if (p.sessionId) {
        await r.sessions.delete(p.sessionId);
        // The tokens handed out with the session end with it.
        await r.tokens.revokeSessionFamilies(p.sessionId, 'logout', now);
      }
      if (p.tokenKeyHash) await r.tokenKeys.delete(p.tokenKeyHash);
      const base = { tenantPk: p.tenant.pk, userPk: p.user.pk };
      if (p.familyId || extraFamily || p.tokenKeyHash) await this.d.events.emit({ ...base, type: 'token.revoked', detail: { reason: 'logout' } });
      if (p.sessionId) await this.d.events.emit({ ...base, type: 'session.ended', detail: { reason: 'logout' } });
    });
  }

  /**
   * Signs out a REST-auth sign-in, which is one token key and one session: ending it with either
   * credential ends both (and the JWT family, when a Bearer token was used).
   */
  async signOutWhole(p: Principal): Promise<void> {
    let whole: Principal = p;
    if (p.tokenKeyHash && !p.sessionId) {
      const row = await this.d.store.read.tokenKeys.find(p.tokenKeyHash);
      if (row?.session_id) whole = { ...p, sessionId: row.session_id };
    } else if (p.sessionId && !p.tokenKeyHash) {
      const row = (await this.d.store.read.tokenKeys.forUser(p.user.pk)).find((k) => k.session_id === p.sessionId);
      if (row) whole = { ...p, tokenKeyHash: row.key_hash };
    }
    await this.signOut(whole);
  }
}
