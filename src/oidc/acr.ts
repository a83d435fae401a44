// Authentication context classes of the OpenID provider. `amr` (RFC 8176) says what a sign-in
// proved: `pwd`, then `otp` (a TOTP code), `rc` (a recovery code; not an RFC 8176 value, so it
// travels together with `mfa`), `hwk`+`user` for a passkey (`webauthn` in the core); `mfa` when
// two factors were proved. `acr` sums it up in one of two values of Latchkey's own:
//   urn:latchkey:acr:1fa   one factor (a password; or a browser trusted to skip the code)
//   urn:latchkey:acr:2fa   two factors (a password and a code, or a passkey with user verification)
// A client that asks for `urn:latchkey:acr:2fa` (acr_values, or the claims parameter) gets a
// sign-in that asks for the second factor; an account without one is refused with
// unmet_authentication_requirements.
import { SECOND_FACTOR_METHODS } from '../core/mfa/second-factors.ts';

export const ACR_1FA = 'urn:latchkey:acr:1fa';
export const ACR_2FA = 'urn:latchkey:acr:2fa';
export const ACR_VALUES = [ACR_1FA, ACR_2FA] as const;

/** Whether the core's `amr` of a sign-in proved two factors. */
export const provedTwoFactors = (amr: readonly string[]): boolean => amr.some((m) => SECOND_FACTOR_METHODS.includes(m));

/** The core's `amr` in RFC 8176's words, as ID and access tokens carry it. */
export function oidcAmr(amr: readonly string[]): string[] {
  const out = new Set<string>();
  for (const m of amr) {
    if (m === 'webauthn') {
      out.add('hwk');
      out.add('user');
    } else out.add(m);
  }
  if (provedTwoFactors(amr)) out.add('mfa');
  return [...out];
}

export const acrOf = (amr: readonly string[]): string => (provedTwoFactors(amr) ? ACR_2FA : ACR_1FA);

/**
 * Whether an authorization request asks for two factors: `acr_values` naming only the 2fa class
 * (a list that also accepts 1fa is satisfied by one factor), or the claims parameter's `acr` for
 * the ID token with `value`/`values` of the 2fa class alone.
 */
export function asksTwoFactors(params: { acr_values?: unknown; claims?: unknown }): boolean {
  const only2fa = (values: unknown[]) => values.length > 0 && values.every((v) => v === ACR_2FA);
  if (typeof params.acr_values === 'string' && only2fa(params.acr_values.split(' ').filter(Boolean))) return true;
  let claims = params.claims;
  if (typeof claims === 'string') {
    try {
      claims = JSON.parse(claims);
    } catch {
      return false;
    }
  }
  const acr = (claims as { id_token?: { acr?: { value?: unknown; values?: unknown } } } | null | undefined)?.id_token?.acr;
  if (!acr || typeof acr !== 'object') return false;
  if (acr.value !== undefined) return acr.value === ACR_2FA;
  return Array.isArray(acr.values) && only2fa(acr.values);
}
