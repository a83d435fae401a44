// Ending a user's sign-ins: every refresh family (and so its access tokens), session and token
// key, but those of the sign-in that asked (a user changing its own password stays signed in).
import type { Repos } from '../store.ts';
import type { Principal } from '../types.ts';

export interface KeptSignIn {
  familyId?: string;
  sessionId?: string;
  tokenKeyHash?: string;
}

/** What a principal signed in with: the sign-in to keep when it changes its own account. */
export const signInOf = (p: Principal): KeptSignIn => ({ familyId: p.familyId, sessionId: p.sessionId, tokenKeyHash: p.tokenKeyHash });

/** What ending a user's sign-ins writes to. */
export type SignInRepos = 'tokens' | 'sessions' | 'tokenKeys';

export async function endAllSignIns(r: Pick<Repos, SignInRepos>, now: number, userPk: number, reason: string, keep: KeptSignIn = {}): Promise<void> {
  await r.tokens.revokeUserFamilies(userPk, reason, now, keep.familyId);
  await r.sessions.deleteForUser(userPk, keep.sessionId);
  await r.tokenKeys.deleteForUser(userPk, keep.tokenKeyHash);
}
