// Per-tenant settings the product knows: each with its type, bounds and documented default.
// Values travel as strings (the v1 configuration API is key/value text) and are parsed here.

interface IntSetting {
  type: 'integer';
  default: number;
  min: number;
  max: number;
  description: string;
}
interface BoolSetting {
  type: 'boolean';
  default: boolean;
  description: string;
}
type SettingSpec = IntSetting | BoolSetting;

export const SETTINGS = {
  access_token_lifetime: {
    type: 'integer', default: 300, min: 30, max: 86_400,
    description: 'Lifetime of JWT access tokens, in seconds.',
  },
  refresh_token_lifetime: {
    type: 'integer', default: 86_400, min: 60, max: 31_536_000,
    description: 'Lifetime of each refresh token, in seconds (a rotation issues a new one with a full lifetime).',
  },
  session_lifetime: {
    type: 'integer', default: 1_209_600, min: 60, max: 31_536_000,
    description: 'Absolute lifetime of a cookie session, in seconds (default two weeks, as Django).',
  },
  password_min_length: {
    type: 'integer', default: 8, min: 8, max: 128,
    description: 'Minimum password length, in characters.',
  },
  require_client_id: {
    type: 'boolean', default: false,
    description: 'Whether every request must name a registered client application in the X-Client-Id header.',
  },
  registration_enabled: {
    type: 'boolean', default: true,
    description: 'Whether new users may register themselves.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
export type Settings = { [K in SettingKey]: (typeof SETTINGS)[K]['default'] extends boolean ? boolean : number };

export const SETTING_KEYS = Object.keys(SETTINGS).sort() as SettingKey[];

export const isSettingKey = (key: string): key is SettingKey => Object.hasOwn(SETTINGS, key);

/** Parses a stored or submitted value; returns an error message when it is not acceptable. */
export function parseSetting(key: SettingKey, raw: string): { value: number | boolean } | { error: string } {
  const spec: SettingSpec = SETTINGS[key];
  if (spec.type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (v === 'true' || v === '1') return { value: true };
    if (v === 'false' || v === '0') return { value: false };
    return { error: 'Must be "true" or "false".' };
  }
  if (!/^\s*\d+\s*$/.test(raw)) return { error: 'A valid integer is required.' };
  const n = Number(raw.trim());
  if (n < spec.min || n > spec.max) return { error: `Must be between ${spec.min} and ${spec.max}.` };
  return { value: n };
}

/** The effective settings of a tenant: stored values over defaults (a bad stored value falls back). */
export function resolveSettings(stored: Record<string, string>): Settings {
  const out: Record<string, number | boolean> = {};
  for (const key of SETTING_KEYS) {
    const raw = stored[key];
    const parsed = raw === undefined ? undefined : parseSetting(key, raw);
    out[key] = parsed && 'value' in parsed ? parsed.value : SETTINGS[key].default;
  }
  return out as Settings;
}

export const formatSetting = (value: number | boolean): string => String(value);
