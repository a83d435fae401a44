// TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of tolerance either side) through
// the `otpauth` library. The seed is kept sealed (secret-box.ts); the last step a code was
// accepted for is kept with it, so a code works once, not for the rest of its window.
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_S = 30;

export interface TotpData {
  /** The base32 seed, sealed. */
  secret: string;
  /** The time step of the last accepted code; codes of this step or before are refused. */
  lastStep: number | null;
  /** Shown to the user but not yet confirmed with a code: not a second factor yet. */
  pending: boolean;
}

export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

const totpOf = (secret: string, issuer: string, label: string) =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_S, secret: Secret.fromBase32(secret) });

/** The `otpauth://` URI an authenticator app reads (from the QR code or typed in). */
export const totpUri = (secret: string, issuer: string, label: string): string => totpOf(secret, issuer, label).toString();

/** The QR code of `uri` as SVG (the library is loaded at the first enrolment, not at start). */
export async function totpQrSvg(uri: string): Promise<string> {
  const QRCode = (await import('qrcode')).default;
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The time step `code` is valid for at `now` (within one step either side), or null. */
export function totpStep(secret: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(secret, 'x', 'x').validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / TOTP_PERIOD_S) + delta;
}
