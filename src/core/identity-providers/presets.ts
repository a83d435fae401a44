// The kinds of upstream provider a tenant can configure. `oidc` is any OpenID Connect provider,
// found by discovery at its issuer; the presets carry their public issuer or endpoints, default
// scopes and how their profile reads, and each of those can be overridden (a private GitLab, an
// Entra ID directory's own issuer, a test's stand-in).

export const PROVIDER_KINDS = ['oidc', 'github', 'google', 'microsoft', 'gitlab', 'apple'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export interface Preset {
  /** Shown when the tenant gives no name. */
  name: string;
  /** OpenID Connect (discovery at the issuer, an ID token) or plain OAuth 2.0 with a profile API. */
  protocol: 'oidc' | 'oauth2';
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userinfoEndpoint?: string;
  /** GitHub: where the account's addresses and whether each is verified are listed. */
  emailsEndpoint?: string;
  scopes: string[];
  /**
   * Apple: the answer comes back as a form POST (`response_mode=form_post`, required once `name` or
   * `email` is asked for), with the person's name, unsigned and only the first time, in `user`.
   */
  formPost?: true;
}

export const PRESETS: Record<ProviderKind, Preset> = {
  oidc: { name: 'OpenID Connect', protocol: 'oidc', scopes: ['openid', 'email', 'profile'] },
  google: { name: 'Google', protocol: 'oidc', issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'] },
  // Entra ID: one directory's issuer (https://login.microsoftonline.com/<tenant id>/v2.0) is expected in `issuer`;
  // the multi-tenant "common" endpoint signs with the user's own directory as issuer, which an exact issuer check refuses.
  microsoft: { name: 'Microsoft', protocol: 'oidc', issuer: 'https://login.microsoftonline.com/organizations/v2.0', scopes: ['openid', 'email', 'profile'] },
  gitlab: { name: 'GitLab', protocol: 'oidc', issuer: 'https://gitlab.com', scopes: ['openid', 'email', 'profile'] },
  apple: { name: 'Apple', protocol: 'oidc', issuer: 'https://appleid.apple.com', scopes: ['openid', 'email', 'name'], formPost: true },
  github: {
    name: 'GitHub', protocol: 'oauth2',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    userinfoEndpoint: 'https://api.github.com/user',
    emailsEndpoint: 'https://api.github.com/user/emails',
    scopes: ['read:user', 'user:email'],
  },
};

export const isProviderKind = (k: string): k is ProviderKind => (PROVIDER_KINDS as readonly string[]).includes(k);
