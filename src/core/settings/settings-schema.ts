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
interface ProvidersSetting {
  type: 'providers';
  default: readonly UpstreamProvider[];
  description: string;
}
interface ChoiceSetting {
  type: 'choice';
  default: string;
  choices: readonly string[];
  description: string;
}
interface TextSetting {
  type: 'text';
  default: string;
  maxLength: number;
  /** A further rule for a non-empty value: an absolute http(s) URL, or a `#rrggbb` colour. */
  format?: 'http_url' | 'hex_colour';
  description: string;
}
type SettingSpec = IntSetting | BoolSetting | ProvidersSetting | ChoiceSetting | TextSetting;

/** An upstream sign-in provider (OAuth 2.0 / OpenID Connect), configured per tenant. */
export interface UpstreamProvider {
  id: string;
  name: string;
  issuer?: string;
  authorize_url: string;
  token_url: string;
  client_id: string;
  client_secret: string;
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]{0,49}$/;

function parseProviders(raw: string): { value: UpstreamProvider[] } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return { error: 'Must be a JSON array of providers.' };
  }
  if (!Array.isArray(v) || v.length > 20) return { error: 'Must be a JSON array of at most 20 providers.' };
  const out: UpstreamProvider[] = [];
  for (const [i, p] of v.entries()) {
    const at = `Provider ${i + 1}`;
    if (!p || typeof p !== 'object' || Array.isArray(p)) return { error: `${at}: must be an object.` };
    const o = p as Record<string, unknown>;
    for (const k of ['id', 'name', 'authorize_url', 'token_url', 'client_id', 'client_secret']) {
      if (typeof o[k] !== 'string' || (o[k] as string).length === 0 || (o[k] as string).length > 2000) return { error: `${at}: "${k}" must be a non-empty string.` };
    }
    if (!PROVIDER_ID.test(o.id as string)) return { error: `${at}: "id" must be 1 to 50 lower-case letters, digits, "_" or "-".` };
    for (const k of ['authorize_url', 'token_url', ...(o.issuer !== undefined ? ['issuer'] : [])]) {
      try {
        if (!['https:', 'http:'].includes(new URL(String(o[k])).protocol)) throw new Error();
      } catch {
        return { error: `${at}: "${k}" must be an http(s) URL.` };
      }
    }
    if (out.some((x) => x.id === o.id)) return { error: `${at}: duplicate id "${o.id}".` };
    out.push({
      id: o.id as string, name: o.name as string, ...(o.issuer ? { issuer: String(o.issuer) } : {}), authorize_url: o.authorize_url as string,
      token_url: o.token_url as string, client_id: o.client_id as string, client_secret: o.client_secret as string,
    });
  }
  return { value: out };
}

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
  email_verification_mandatory: {
    type: 'boolean', default: false,
    description: 'Whether a user must verify its e-mail address before it can sign in (django-allauth\'s "mandatory").',
  },
  password_change_requires_old: {
    type: 'boolean', default: false,
    description: 'Whether /api/auth/password/change/ asks for old_password too.',
  },
  password_reset_timeout: {
    type: 'integer', default: 3600, min: 300, max: 604_800,
    description: 'Lifetime of password-reset links, in seconds.',
  },
  password_forgotten_enabled: {
    type: 'boolean', default: true,
    description: 'Whether users may reset a forgotten password by e-mail.',
  },
  login_throttle_threshold: {
    type: 'integer', default: 5, min: 1, max: 100,
    description: 'Consecutive failed sign-ins for one account name before each further attempt must wait (1 s, doubling, at most 5 min): 429 with Retry-After.',
  },
  login_lockout_threshold: {
    type: 'integer', default: 100, min: 5, max: 100,
    description: 'Consecutive failed sign-ins after which the account is locked until a password reset or an administrator unlocks it (NIST SP 800-63B: at most 100).',
  },
  login_ip_limit: {
    type: 'integer', default: 10, min: 1, max: 100_000,
    description: 'Failed sign-ins allowed from one client address in a rolling minute, whatever the names; more get 429 with Retry-After until the minute has passed.',
  },
  sign_in_start_ip_limit: {
    type: 'integer', default: 60, min: 1, max: 100_000,
    description: 'Sign-ins begun from one client address in a rolling minute before anyone is known (a passkey sign-in or sign-up, an upstream provider\'s sign-in, a sign-in code by e-mail); more get 429 with Retry-After and store nothing.',
  },
  password_reset_email_limit: {
    type: 'integer', default: 5, min: 1, max: 1000,
    description: 'Password-reset requests for one e-mail address in a rolling minute; more get 429 with Retry-After and send nothing (counted whether or not the address is known).',
  },
  verification_email_limit: {
    type: 'integer', default: 1, min: 1, max: 1000,
    description: 'Verification e-mails (resends) to one address in a rolling 3 minutes; more get 429 with Retry-After and send nothing (counted whether or not the address is known).',
  },
  mfa_required: {
    type: 'boolean', default: false,
    description: 'Whether every user must have a second factor: a user without one can sign in only to enrol one (the hosted pages and the headless API); the password-only APIs refuse such a user with mfa_required.',
  },
  reauthentication_timeout: {
    type: 'integer', default: 300, min: 30, max: 86400,
    description: 'Seconds after a sign-in or reauthentication during which a session may change its second factors, e-mail addresses and password without proving itself again (django-allauth\'s REAUTHENTICATION_TIMEOUT).',
  },
  trust_browser_days: {
    type: 'integer', default: 30, min: 1, max: 365,
    description: 'Days a browser the user chose to trust skips the second factor (django-allauth\'s MFA_TRUST_COOKIE_AGE).',
  },
  sso_enabled: {
    type: 'boolean', default: false,
    description: 'Whether sign-in through the upstream providers is offered.',
  },
  sso_registration: {
    type: 'boolean', default: false,
    description: 'Whether signing in through an upstream provider may create an account.',
  },
  allowed_redirect_urls: {
    type: 'text', default: '', maxLength: 2000,
    description: 'Space-separated origins (https://app.example.com) a sign-in through an upstream identity provider may send the browser back to with `next`, besides PUBLIC_URL\'s own.',
  },
  oidc_upstream_provider: {
    type: 'text', default: '', maxLength: 50,
    description: 'The id of an identity provider (/api/identity-providers/) the OpenID provider\'s sign-in goes to when the client sends no login_hint (login_hint `idp:<id>` picks one itself); empty: Latchkey\'s own sign-in page.',
  },
  social_providers: {
    type: 'providers', default: [],
    description: 'No longer read: upstream sign-in providers are managed at /api/identity-providers/ (their secrets sealed). Kept so that older exports still import.',
  },
  registration_enabled: {
    type: 'boolean', default: true,
    description: 'Whether new users may register themselves.',
  },
  token_signing_algorithm: {
    type: 'choice', default: 'ES256', choices: ['ES256', 'RS256'],
    description: 'Algorithm of the access tokens issued from now on: ES256, or RS256 for verifiers that know only RSA (each has its own published keys).',
  },
  token_audience: {
    type: 'text', default: '', maxLength: 200,
    description: 'The `aud` claim of access tokens; empty for none (verifiers such as PyJWT refuse an `aud` they were not told to expect).',
  },
  logo_url: {
    type: 'text', default: '', maxLength: 500, format: 'http_url',
    description: 'The logo the hosted pages show above their heading: an absolute https or http URL; empty for none.',
  },
  accent_color: {
    type: 'text', default: '', maxLength: 7, format: 'hex_colour',
    description: 'The hosted pages\' accent colour (buttons, focus ring) as #rrggbb; empty for Latchkey\'s own.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
type SettingValue = number | boolean | string | UpstreamProvider[];
type ValueOf<S> = S extends { type: 'boolean' } ? boolean
  : S extends { type: 'integer' } ? number
  : S extends { type: 'choice'; choices: readonly (infer C)[] } ? C
  : S extends { type: 'text' } ? string
  : UpstreamProvider[];
export type Settings = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

export const SETTING_KEYS = Object.keys(SETTINGS).sort() as SettingKey[];

export const isSettingKey = (key: string): key is SettingKey => Object.hasOwn(SETTINGS, key);

/** Parses a stored or submitted value; returns an error message when it is not acceptable. */
export function parseSetting(key: SettingKey, raw: string): { value: SettingValue } | { error: string } {
  const spec: SettingSpec = SETTINGS[key];
  if (spec.type === 'providers') return parseProviders(raw);
  if (spec.type === 'choice') {
    const v = raw.trim();
    return spec.choices.includes(v) ? { value: v } : { error: `Must be one of: ${spec.choices.join(', ')}.` };
  }
  if (spec.type === 'text') {
    const v = raw.trim();
    // Printable ASCII: the value goes into every token verifiers compare byte for byte.
    if (v.length > spec.maxLength || !/^[\x20-\x7e]*$/.test(v)) return { error: `At most ${spec.maxLength} printable ASCII characters.` };
    if (v !== '' && spec.format === 'hex_colour' && !/^#[0-9a-fA-F]{6}$/.test(v)) return { error: 'Must be a colour written #rrggbb, or empty.' };
    if (v !== '' && spec.format === 'http_url' && !isHttpUrl(v)) return { error: 'Must be an absolute https or http URL, or empty.' };
    return { value: spec.format === 'hex_colour' ? v.toLowerCase() : v };
  }
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
  const out: Record<string, SettingValue> = {};
  for (const key of SETTING_KEYS) {
    const raw = stored[key];
    const parsed = raw === undefined ? undefined : parseSetting(key, raw);
    out[key] = parsed && 'value' in parsed ? parsed.value : (SETTINGS[key].default as SettingValue);
  }
  return out as Settings;
}

export const formatSetting = (value: SettingValue): string => (typeof value === 'object' ? JSON.stringify(value) : String(value));

/** A setting's value as it may be shown (lists, the audit log): provider secrets are masked. */
export function publicSetting(value: SettingValue): string {
  if (Array.isArray(value)) return JSON.stringify(value.map((p) => ({ ...p, client_secret: '********' })));
  return formatSetting(value);
}
