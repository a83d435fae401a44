// The django-allauth headless API's schemas, written from its published specification (django-allauth
// 65.16.1, allauth/headless/spec/doc/openapi.yaml): each component under its name there, field for
// field. Unions the specification writes as `oneOf` stay `oneOf`. Where Latchkey says more than the
// specification (an `errors` list on 403/404/409/429 answers, `meta.totp_svg`, `meta.refresh_token`),
// the addition is an optional property, so every answer still validates against the published document.
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Core } from '../../../core/index.ts';

export interface Options {
  core: Core;
  publicUrl: string;
}

export type TypedApp = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;

const oneOf = (schemas: TSchema[], extra: Record<string, unknown> = {}) => Type.Unsafe<any>({ oneOf: schemas, ...extra });
const allOf = (schemas: TSchema[]) => Type.Unsafe<any>({ allOf: schemas });
const anyOf = (schemas: TSchema[], extra: Record<string, unknown> = {}) => Type.Unsafe<any>({ anyOf: schemas, ...extra });
const int = (n: number) => Type.Integer({ enum: [n] });

export const StatusOK = int(200);
export const Timestamp = Type.Number({ description: 'An epoch based timestamp (trivial to parse using: `new Date(value)*1000`)' });
export const OptionalTimestamp = Type.Unsafe<number | null>({ type: 'number', nullable: true, description: 'An epoch based timestamp, or null' });
export const Email = Type.String({ description: 'The email address.', maxLength: 254 });
export const Username = Type.String({ description: 'The username.', maxLength: 150 });
export const Phone = Type.String({ description: 'The phone number.', maxLength: 32 });
export const Password = Type.String({ description: 'The password.', maxLength: 8192 });
export const AuthenticatorCode = Type.String({ description: 'An authenticator code.', maxLength: 64 });
export const Code = Type.String({ description: 'An one-time code.', maxLength: 64 });
export const AuthenticatorType = Type.String({ enum: ['recovery_codes', 'totp', 'webauthn'], description: 'The type of authenticator.' });
export const AuthenticatorID = Type.Integer({ description: 'Authenticator ID.' });
export const AccessToken = Type.String({ description: 'The access token.' });
export const RefreshToken = Type.String({ description: 'The refresh token.' });
export const ProviderID = Type.String({ description: 'The provider ID.' });
export const ProviderAccountID = Type.String({ description: 'The provider specific account ID.' });

export const User = Type.Object({
  id: oneOf([Type.Integer(), Type.String()], { description: 'The user ID.' }),
  display: Type.Optional(Type.String({ description: 'The display name for the user.' })),
  has_usable_password: Type.Optional(Type.Boolean({ description: 'Whether or not the account has a password set.' })),
  email: Type.Optional(Email),
  username: Type.Optional(Username),
});

export const Provider = Type.Object({
  id: Type.String({ description: 'The provider ID.' }),
  name: Type.String({ description: 'The name of the provider.' }),
  client_id: Type.Optional(Type.String({ description: 'The client ID (in case of OAuth2 or OpenID Connect based providers)' })),
  openid_configuration_url: Type.Optional(Type.String({ description: 'The OIDC discovery or well-known URL' })),
  flows: Type.Array(Type.String({ enum: ['provider_redirect', 'provider_token'] })),
});

export const Flow = Type.Object({
  id: Type.String({
    enum: [
      'login', 'login_by_code', 'mfa_authenticate', 'mfa_reauthenticate', 'provider_redirect', 'provider_signup', 'provider_token', 'reauthenticate', 'signup', 'verify_email', 'verify_phone',
      'mfa_login_webauthn', 'mfa_signup_webauthn',
    ],
    description: 'The specification\'s Flow enum, and the two flows its description names besides: `mfa_login_webauthn` (sign in with a passkey) and `mfa_signup_webauthn` (sign up with a passkey, pending until the passkey is handed over).',
  }),
  provider: Type.Optional(Provider),
  providers: Type.Optional(Type.Array(Type.String(), { description: 'The providers of a provider flow (as the specification\'s examples show).' })),
  is_pending: Type.Optional(Type.Boolean({ enum: [true] })),
  types: Type.Optional(Type.Array(AuthenticatorType, { description: 'Matches `settings.MFA_SUPPORTED_TYPES`.' })),
});

const BaseAuthenticationMeta = {
  session_token: Type.Optional(Type.String({ description: 'The session token (`app` clients only).' })),
  access_token: Type.Optional(Type.String({ description: 'The access token (`app` clients only).' })),
  refresh_token: Type.Optional(Type.String({ description: 'Latchkey: the refresh token that goes with `access_token` (`app` clients only; POST it to tokens/refresh).' })),
};
export const AuthenticationMeta = Type.Object({ ...BaseAuthenticationMeta, is_authenticated: Type.Boolean() });
export const AuthenticatedMeta = Type.Object({ ...BaseAuthenticationMeta, is_authenticated: Type.Boolean({ enum: [true] }) });

export const AuthenticationMethod = oneOf([
  Type.Object({ method: Type.String({ enum: ['password'] }), at: Timestamp, email: Type.Optional(Email), username: Type.Optional(Username) }, { title: 'Authenticated by username/email login' }),
  Type.Object({ method: Type.String({ enum: ['password_reset'] }), at: Timestamp, email: Email }, { title: 'Authenticated after password reset' }),
  Type.Object({ method: Type.String({ enum: ['code'] }), at: Timestamp, email: Email }, { title: 'Authenticated by confirming a code sent by email.' }),
  Type.Object({ method: Type.String({ enum: ['code'] }), at: Timestamp, phone: Phone }, { title: 'Authenticated by confirming a code sent by phone.' }),
  Type.Object({ method: Type.String({ enum: ['password'] }), at: Timestamp, reauthenticated: Type.Boolean({ enum: [true] }) }, { title: 'Reauthenticated by password' }),
  Type.Object({ method: Type.String({ enum: ['socialaccount'] }), at: Timestamp, provider: ProviderID, uid: ProviderAccountID, reauthenticated: Type.Unknown() }, { title: 'Authenticated by third-party provider' }),
  Type.Object({ method: Type.String({ enum: ['mfa'] }), at: Timestamp, type: AuthenticatorType, reauthenticated: Type.Optional(Type.Boolean()) }, { title: '(Re)authenticated by 2FA' }),
]);

export const Authenticated = Type.Object({ user: User, methods: Type.Array(AuthenticationMethod, { description: 'A list of methods used to authenticate.' }) });
export const AuthenticatedResponse = Type.Object({ status: StatusOK, data: Authenticated, meta: AuthenticationMeta });
export const AuthenticationResponse = Type.Object({
  status: int(401),
  data: Type.Object({ flows: Type.Array(Flow) }),
  meta: AuthenticationMeta,
}, { description: 'An authentication related response.' });
export const ReauthenticationResponse = Type.Object({
  status: int(401),
  data: Type.Object({ flows: Type.Array(Flow), user: User, methods: Type.Array(AuthenticationMethod) }),
  meta: AuthenticatedMeta,
}, { description: 'A response indicating reauthentication is required.' });
export const SessionGoneResponse = Type.Object({ status: int(410), data: Type.Optional(Type.Object({ flows: Type.Optional(Type.Array(Flow)) })), meta: Type.Optional(AuthenticationMeta) }, { description: 'The session is expired or invalid.' });

const ErrorItem = Type.Object({
  code: Type.String({ description: 'An error code.' }),
  param: Type.Optional(Type.String({ description: 'The name of the input parameter that was incorrect.' })),
  message: Type.String({ description: 'A human readable error message.' }),
});
const errorsList = Type.Optional(Type.Array(ErrorItem, { description: 'Latchkey: what went wrong, in the shape of ErrorResponse.' }));
export const ErrorResponse = Type.Object({ status: int(400), errors: Type.Optional(Type.Array(ErrorItem)) });
export const ForbiddenResponse = Type.Object({ status: int(403), errors: errorsList });
export const ConflictResponse = Type.Object({ status: int(409), errors: errorsList });
export const NotFound = Type.Object({ status: int(404), errors: errorsList });
export const TooManyRequests = Type.Object({ status: int(429), errors: errorsList });
export const StatusOKResponse = Type.Object({ status: StatusOK });
export const Unavailable = Type.Object({ status: int(503), errors: errorsList });

export const EmailAddress = Type.Object({ email: Email, primary: Type.Boolean(), verified: Type.Boolean() });
export const EmailAddresses = Type.Object({ status: StatusOK, data: Type.Array(EmailAddress) });

const BaseAuthenticator = { last_used_at: OptionalTimestamp, created_at: Timestamp };
export const TOTPAuthenticator = allOf([Type.Object(BaseAuthenticator), Type.Object({ type: Type.String({ enum: ['totp'] }) })]);
export const WebAuthnAuthenticator = allOf([Type.Object(BaseAuthenticator), Type.Object({
  type: Type.String({ enum: ['webauthn'] }), id: AuthenticatorID, name: Type.String(),
  is_passwordless: Type.Optional(Type.Boolean({ description: 'Whether or not this authenticator represents a passkey. Absent if it is not specified.' })),
})]);
export const RecoveryCodesAuthenticator = allOf([Type.Object(BaseAuthenticator), Type.Object({
  type: Type.String({ enum: ['recovery_codes'], description: 'The authenticator type.' }),
  total_code_count: Type.Integer({ description: 'The total number of recovery codes that initially were available.' }),
  unused_code_count: Type.Integer({ description: 'The number of recovery codes that are unused.' }),
})]);
export const SensitiveRecoveryCodesAuthenticator = allOf([RecoveryCodesAuthenticator, Type.Object({
  unused_codes: Type.Array(AuthenticatorCode, { description: 'The list of unused codes. Latchkey keeps only hashes: the codes are listed only in the answer that made them, empty afterwards.' }),
})]);
export const AuthenticatorList = Type.Array(oneOf([TOTPAuthenticator, RecoveryCodesAuthenticator, WebAuthnAuthenticator]));

export const Session = Type.Object({
  user_agent: Type.String(), ip: Type.String(), created_at: Timestamp, is_current: Type.Boolean(), id: Type.Integer(), last_seen_at: Type.Optional(Timestamp),
});
export const Sessions = Type.Object({ status: StatusOK, data: Type.Array(Session) });

export const AccountConfiguration = Type.Object({
  authentication_method: Type.Optional(Type.String({ description: 'Required by the specification though not described there: `username_email` (either signs in).' })),
  login_methods: Type.Optional(Type.Array(Type.String({ enum: ['email', 'username'] }))),
  is_open_for_signup: Type.Boolean(),
  email_verification_by_code_enabled: Type.Boolean(),
  login_by_code_enabled: Type.Boolean(),
  password_reset_by_code_enabled: Type.Optional(Type.Boolean()),
}, { description: 'Configuration of the Django `allauth.account` app.' });
export const ConfigurationResponse = Type.Object({
  data: Type.Object({
    account: Type.Unsafe<any>({ ...AccountConfiguration, required: ['authentication_method', 'email_verification_by_code_enabled', 'is_open_for_signup', 'login_by_code_enabled'] }),
    socialaccount: Type.Optional(Type.Object({ providers: Type.Array(Provider) })),
    mfa: Type.Optional(Type.Object({
      supported_types: Type.Array(AuthenticatorType),
      passkey_login_enabled: Type.Optional(Type.Boolean({ description: 'Whether a passkey alone signs in (auth/webauthn/login), as django-allauth\'s MFA_PASSKEY_LOGIN_ENABLED.' })),
      passkey_signup_enabled: Type.Optional(Type.Boolean({ description: 'Latchkey: whether one may sign up with a passkey alone (auth/webauthn/signup): the tenant\'s registration is open.' })),
    })),
    usersessions: Type.Optional(Type.Object({ track_activity: Type.Boolean() })),
  }),
  status: StatusOK,
});

export const EmailVerificationInfo = Type.Object({
  status: StatusOK,
  data: Type.Object({ email: Email, user: User }),
  meta: Type.Object({ is_authenticating: Type.Boolean() }),
});
export const PasswordResetInfo = Type.Object({ status: StatusOK, data: Type.Object({ user: Type.Optional(User) }) });
export const RefreshTokenResponse = Type.Object({ status: StatusOK, data: Type.Object({ access_token: AccessToken, refresh_token: Type.Optional(RefreshToken) }) });
export const TOTPAuthenticatorResponse = Type.Object({
  status: StatusOK,
  meta: Type.Optional(Type.Object({ recovery_codes_generated: Type.Optional(Type.Boolean({ description: 'Whether or not recovery codes where generated automatically.' })) })),
  data: TOTPAuthenticator,
});
export const TOTPAuthenticatorNotFound = Type.Object({
  status: int(404),
  meta: Type.Object({
    secret: Type.String({ description: 'A TOTP secret that can be used to setup a new authenticator.' }),
    totp_url: Type.String({ description: 'otpauth URI from which a QR code can be generated and scanned by OTP clients.' }),
    totp_svg: Type.Optional(Type.String({ description: 'Latchkey: the otpauth URI as a QR code, an SVG document.' })),
  }),
});
export const RecoveryCodesResponse = Type.Object({ status: StatusOK, data: SensitiveRecoveryCodesAuthenticator });
export const AuthenticatorsResponse = Type.Object({ status: StatusOK, data: AuthenticatorList });

// Request bodies.
export const LoginBody = Type.Unsafe<{ username?: string; email?: string; phone?: string; password: string }>({
  allOf: [
    Type.Object({ password: Password }),
    { anyOf: [
      Type.Object({ username: Username }, { title: 'Login by username' }),
      Type.Object({ email: Email }, { title: 'Login by email' }),
      Type.Object({ phone: Phone }, { title: 'Login by phone' }),
    ] },
  ],
});
export const PasskeySignupBody = Type.Object({ email: Type.Optional(Email), phone: Type.Optional(Phone), username: Type.Optional(Username) });
export const SignupBody = Type.Object({ email: Type.Optional(Email), phone: Type.Optional(Phone), username: Type.Optional(Username), password: Password });
export const ReauthenticateBody = Type.Object({ password: Password });
export const VerifyEmailBody = Type.Object({ key: Type.String({ description: 'The email verification key', maxLength: 500 }) });
export const RequestPasswordBody = Type.Object({ email: Email });
export const ResetPasswordBody = Type.Object({ key: Type.String({ description: 'The password reset key', maxLength: 500 }), password: Password });
export const MFAAuthenticateBody = Type.Object({ code: AuthenticatorCode });
export const MFATrustBody = Type.Object({ trust: Type.Boolean() });
export const RequestLoginCodeBody = anyOf([
  Type.Object({ phone: Phone }, { title: 'Request login code (phone)' }),
  Type.Object({ email: Email }, { title: 'Request login code (email)' }),
], { type: 'object' });
export const ConfirmLoginCodeBody = Type.Object({ code: Code });
export const EmailBody = Type.Object({ email: Email });
export const MarkPrimaryEmailBody = Type.Object({ email: Type.String({ description: 'An email address.', maxLength: 254 }), primary: Type.Boolean({ enum: [true], description: 'Primary flag.' }) });
export const ChangePasswordBody = Type.Object({ current_password: Type.Optional(Password), new_password: Type.String({ maxLength: 8192 }) });
export const SetupTOTPBody = Type.Object({ code: AuthenticatorCode });
export const EndSessionsBody = Type.Object({ sessions: Type.Array(Type.Integer(), { description: 'The IDs of the sessions that are to be ended.', maxItems: 1000 }) });
export const RefreshTokenBody = Type.Object({ refresh_token: Type.String({ maxLength: 2000 }) });

export const Client = Type.Object({ client: Type.String({ enum: ['app', 'browser'], description: 'The type of client accessing the API.' }) });
export const SessionTokenHeader = Type.Object({ 'x-session-token': Type.Optional(Type.String({ description: 'Session token. Only needed when `client` is equal to `app`.' })) });

export const tags = (tag: string) => [`allauth headless: ${tag}`];

/** What every headless route may also answer: bad input or an unknown tenant (400), a refused CSRF check or closed feature (403), a gone session (410), a limit (429), an unavailable database (503). */
export const common = { 400: ErrorResponse, 403: ForbiddenResponse, 410: SessionGoneResponse, 429: TooManyRequests, 503: Unavailable };
