// Recovery codes just made, for the headless routes that make them (TOTP activation and
// regeneration in account-routes.ts, a first passkey in webauthn.ts) and the GET that lists them.
import type { Core, Principal } from '../../../core/index.ts';

/**
 * Recovery codes are kept only as hashes: the codes themselves can be shown only by the answer
 * that made them and, for the front-ends that fetch them next (allauth's flow: activate TOTP or
 * add a first passkey, then GET recovery-codes), by the GETs of the same session within five
 * minutes, sealed in this process's memory. Afterwards (or on another instance) `unused_codes`
 * is empty.
 */
const FRESH_CODES_MS = 5 * 60_000;
const freshCodes = new Map<string, { sealed: string; until: number }>();
export function rememberCodes(core: Core, p: Principal, codes: string[]) {
  if (!p.sessionId) return;
  const now = core.clock.now();
  for (const [k, v] of freshCodes) if (v.until <= now) freshCodes.delete(k);
  if (freshCodes.size > 10_000) freshCodes.clear();
  freshCodes.set(p.sessionId, { sealed: core.secretBox.seal(JSON.stringify(codes), `fresh-rc:${p.sessionId}`), until: now + FRESH_CODES_MS });
}
export function recallCodes(core: Core, p: Principal): string[] {
  const e = p.sessionId ? freshCodes.get(p.sessionId) : undefined;
  if (!e || e.until <= core.clock.now()) return [];
  return JSON.parse(core.secretBox.open(e.sealed, `fresh-rc:${p.sessionId}`)) as string[];
}
export const forgetCodes = (p: Principal) => p.sessionId && freshCodes.delete(p.sessionId);
