// What a front-end asks of a sign-in and what it gets back. Front-ends (the legacy dialects,
// HTTP Basic, later the headless API, the hosted pages and the OIDC provider's interactions)
// build a SignInRequest and present the outcome; none of them decides a rule of signing in.
import type { Client, Principal, Tenant, User } from '../types.ts';
import type { NewSession } from '../sessions/sessions-service.ts';

/** How the person proves who they are first. Each method is one first factor (first-factors.ts). */
export type FirstFactorInput =
  | { method: 'password'; by: 'username' | 'email'; identifier: string; password: string }
  /** A code e-mailed by `core.loginCodes.request` (its `codeToken` names the request). */
  | { method: 'code'; codeToken: string; code: string }
  /** A passkey alone (a discoverable credential): its answer to `core.passkeys.authenticationOptions(tenant)` (mfa/passkeys.ts). */
  | { method: 'webauthn'; response: unknown }
  /**
   * Back from an upstream identity provider (core/identity-providers/upstream-sign-in.ts):
   * `callback` is the URL it sent the browser to (with code and state), `binding` the value of the
   * cookie set when the sign-in began there.
   */
  | { method: 'upstream'; provider: string; callback: string; binding: string | undefined }
  /** Tokens an app got from the provider's own SDK (the headless API's provider/token): verified with the provider. */
  | { method: 'upstream'; provider: string; token: { clientId: string; idToken?: string; accessToken?: string } };

/** What a completed sign-in hands out: the front-end chooses (issuers.ts). */
export type Issue =
  /** An access token and a refresh token of a new family (v1, the OAuth2 password grant). */
  | { kind: 'token_pair'; refreshFormat?: 'jwt' | 'opaque' }
  /** A cookie session and a token key (REST-auth). */
  | { kind: 'session_and_key' }
  /**
   * A session alone: a cookie for browsers, or its value as an app's session token (the
   * headless API, the hosted pages); `withTokens` adds an access token and a refresh token.
   */
  | { kind: 'session'; withTokens?: boolean }
  /** Nothing: the proof stands for one request (HTTP Basic). */
  | { kind: 'request' }
  /**
   * The account, for a front-end that keeps its own session of who signed in (the OpenID
   * provider's interaction, the hosted pages): recorded as a sign-in, hands out no credential.
   */
  | { kind: 'identity' };

export interface SignInRequest {
  /** Tenant name; undefined for `default`. */
  tenant: string | undefined;
  factor: FirstFactorInput;
  issue: Issue;
  /** The registered client the request came through. */
  client?: Client;
  /** The OAuth grant it signs in by: the client must be registered for it. */
  grantType?: string;
  scopes?: string[];
  /**
   * Whether the front-end can show a pending step and continue the flow with a later request.
   * When it cannot, a pending step is refused with SIGN_IN_PENDING, in the dialect's own shape.
   */
  continuable?: boolean;
  /** The browser's trust token (the headless API's and the pages' "trust this browser"): skips the second factor while it holds. */
  trustToken?: string;
}

/** What completing handed out, by the request's `issue.kind`. */
export type Issued =
  | { kind: 'token_pair'; access: string; refresh: string; expiresIn: number; scope: string }
  | { kind: 'session_and_key'; key: string; session: NewSession }
  | { kind: 'session'; session: NewSession; tokens?: { access: string; refresh: string; expiresIn: number } }
  | { kind: 'request'; principal: Principal }
  | { kind: 'identity'; user: User; tenant: Tenant; amr: string[] };

/**
 * A step the sign-in waits on, that a later request completes. `verify_email`: the tenant makes
 * verified addresses mandatory. `mfa_authenticate`: the account has a second factor.
 * `mfa_enroll`: the tenant requires one and the account has none (see Requirement.enrolment).
 */
export type PendingStep = 'verify_email' | 'mfa_authenticate' | 'mfa_enroll';

export type SignInOutcome =
  /** `amr`: what the sign-in proved (RFC 8176's words where it has them: `pwd`, `otp`; also `rc`, `webauthn`). */
  /** `mustEnrol`: the session may do nothing but set up the second factor the tenant requires (Principal `mustEnrol`). */
  | { status: 'completed'; user: User; tenant: Tenant; issued: Issued; amr: string[]; recoveryCodesLeft?: number; mustEnrol?: boolean }
  | {
    status: 'pending';
    step: PendingStep;
    /** The flow's token, for the front-end to continue with (shown once; stored as a hash). */
    flowToken: string;
    expiresAt: number;
    user: User;
    tenant: Tenant;
  };

/** What continuing a pending sign-in brings, by step. */
export type StepInput =
  /** The key of the verification e-mail; without one the flow only checks again (verified by the link meanwhile). */
  | { step: 'verify_email'; key?: string }
  /** A TOTP or recovery code, or a passkey's answer to the challenge it was given. */
  | { step: 'mfa_authenticate'; code: string }
  | { step: 'mfa_authenticate'; webauthn: unknown };
