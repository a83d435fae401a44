// The headless API's passkey endpoints (core: mfa/passkeys.ts): options for the browser's
// navigator.credentials.create/get (`{publicKey: ...}`, for parseCreationOptionsFromJSON /
// parseRequestOptionsFromJSON), a passkey as the second factor, for reauthentication, for a
// passwordless sign-in (auth/webauthn/login), signing up with a passkey alone (auth/webauthn/signup:
// the pending flow `mfa_signup_webauthn`; core: accounts/passkey-signup.ts), and the account's
// passkeys (add, rename, remove).
import { Type } from '@sinclair/typebox';
import { DomainError, type AuthenticatorView } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import {
  AuthenticatedResponse, AuthenticationResponse, AuthenticatorID, Client, ConflictResponse, ErrorResponse, ForbiddenResponse, NotFound, PasskeySignupBody,
  ReauthenticationResponse, SessionTokenHeader, StatusOKResponse, WebAuthnAuthenticator, common, tags, type Options, type TypedApp,
} from './schemas.ts';
import { forgetCodes, rememberCodes } from './fresh-codes.ts';
import { answerAuthenticated, answerOutcome, answerPending, extensions, issueFor, pendingFlow, refuseIfSignedIn, signedIn, tenantOf, ts } from './kit.ts';

const P = '/_allauth/:client/v1';
const params = Client;
const headers = SessionTokenHeader;
const AuthOrReauth = Type.Unsafe<any>({ anyOf: [ReauthenticationResponse, AuthenticationResponse] });

// Schemas from the specification (components WebAuthnCredential, ...).
const WebAuthnCredential = Type.Object({}, { additionalProperties: true, description: 'A PublicKeyCredential as JSON (its toJSON()).' });
const CredentialBody = Type.Object({ credential: WebAuthnCredential });
const RequestOptionsResponse = Type.Object({ status: Type.Literal(200), data: Type.Object({ request_options: Type.Object({}, { additionalProperties: true }) }) });
const CreationOptionsResponse = Type.Object({ status: Type.Literal(200), data: Type.Object({ creation_options: Type.Object({}, { additionalProperties: true }) }) });
// GET auth/webauthn/signup: the specification's document names `request_options` there, while
// django-allauth's code (and its React example) answers and reads `creation_options`. Both carry
// the same creation options, so a front-end of either reading works.
const SignupOptionsResponse = Type.Object({
  status: Type.Literal(200),
  data: Type.Object({
    creation_options: Type.Object({}, { additionalProperties: true, description: 'The creation options (`{publicKey}`, for parseCreationOptionsFromJSON), as django-allauth answers.' }),
    request_options: Type.Object({}, { additionalProperties: true, description: 'The same creation options, under the name the specification\'s document gives.' }),
  }),
});
const WebAuthnAuthenticatorResponse = Type.Object({ status: Type.Literal(200), data: WebAuthnAuthenticator });
const AddWebAuthnAuthenticatorResponse = Type.Object({
  status: Type.Literal(200), data: WebAuthnAuthenticator,
  meta: Type.Object({ recovery_codes_generated: Type.Optional(Type.Boolean({ description: 'Whether or not recovery codes where generated automatically.' })) }),
});
const AddBody = Type.Object({ name: Type.Optional(Type.String({ maxLength: 100 })), credential: WebAuthnCredential });
const UpdateBody = Type.Object({ id: Type.Optional(AuthenticatorID), name: Type.Optional(Type.String()) });
const DeleteBody = Type.Object({ authenticators: Type.Array(AuthenticatorID, { description: 'The IDs of the authenticator that are to be deleted.' }) });
const PasswordLessQuery = Type.Object({ passwordless: Type.Optional(Type.String({ description: 'When present (regardless of its value), the passkey is to sign in without a password.' })) });

const present = (a: AuthenticatorView) => ({
  type: 'webauthn' as const, id: a.id, name: a.name ?? '', created_at: ts(a.createdAt), last_used_at: a.lastUsedAt === null ? null : ts(a.lastUsedAt),
  ...(a.passwordless === undefined ? {} : { is_passwordless: a.passwordless }),
});

export async function webauthnRoutes(app: TypedApp, { core }: Options) {
  if (!extensions.mfaTypes.includes('webauthn')) extensions.mfaTypes.push('webauthn');
  if (!extensions.firstFlows.includes('mfa_login_webauthn')) extensions.firstFlows.push('mfa_login_webauthn');
  const tag = tags('WebAuthn');

  app.get(`${P}/auth/webauthn/authenticate`, {
    schema: { tags: tag, summary: 'Get WebAuthn credential request options for 2FA', params, headers, response: { ...common, 200: RequestOptionsResponse, 401: AuthenticationResponse } },
  }, async (request) => {
    const f = request.headless?.flow;
    if (!f || f.kind !== 'flow' || f.step !== 'mfa_authenticate' || !f.user) throw new DomainError('NOT_AUTHENTICATED', 'No sign-in waits on a second factor.');
    const tenant = await tenantOf(core, request);
    return { status: 200 as const, data: { request_options: { publicKey: await core.passkeys.authenticationOptions(tenant, f.user, 'authenticate') } } };
  });

  app.post(`${P}/auth/webauthn/authenticate`, {
    config: { credentialAnswer: true },
    schema: { tags: tag, summary: 'Perform 2FA using WebAuthn', params, headers, body: CredentialBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse } },
  }, async (request, reply) => {
    const f = request.headless?.flow;
    if (!f || f.kind !== 'flow' || f.step !== 'mfa_authenticate') throw new DomainError('NOT_AUTHENTICATED', 'No sign-in waits on a second factor.');
    return answerOutcome(core, request, reply, await core.signIn.continue(f.token, { step: 'mfa_authenticate', webauthn: request.body.credential }));
  });

  app.get(`${P}/auth/webauthn/reauthenticate`, {
    schema: { tags: tag, summary: 'Get WebAuthn credential request options for reauthentication', params, headers, response: { ...common, 200: RequestOptionsResponse, 401: AuthenticationResponse } },
  }, async (request) => {
    const p = signedIn(request);
    return { status: 200 as const, data: { request_options: { publicKey: await core.passkeys.authenticationOptions(p.tenant, p.user, 'reauthenticate') } } };
  });

  app.post(`${P}/auth/webauthn/reauthenticate`, {
    schema: { tags: tag, summary: 'Reauthenticate using WebAuthn', params, headers, body: CredentialBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse } },
  }, async (request) => {
    const p = signedIn(request);
    const proved = await core.reauthentication.withSecondFactor(p, { webauthn: request.body.credential });
    return answerAuthenticated(core, { ...p, authenticatedAt: core.clock.now() }, [proved.method]);
  });

  app.get(`${P}/auth/webauthn/login`, {
    schema: { tags: tag, summary: 'Get WebAuthn credential request options for login', params, headers, response: { ...common, 200: RequestOptionsResponse, 409: ConflictResponse } },
  }, async (request) => {
    refuseIfSignedIn(request);
    const tenant = await tenantOf(core, request);
    return { status: 200 as const, data: { request_options: { publicKey: await core.passkeys.authenticationOptions(tenant, undefined, 'login') } } };
  });

  app.post(`${P}/auth/webauthn/login`, {
    config: { credentialAnswer: true },
    schema: {
      tags: tag, summary: 'Login using WebAuthn',
      description: 'A passkey alone (a discoverable credential, its user verified) signs in; it proves `webauthn`, which is the second factor too. 401 when the sign-in still waits on a step (an e-mail to verify).',
      params, headers, body: CredentialBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    refuseIfSignedIn(request);
    const outcome = await core.signIn.start({ tenant: requestedTenant(request), factor: { method: 'webauthn', response: request.body.credential }, issue: issueFor(request), continuable: true });
    return answerOutcome(core, request, reply, outcome);
  });

  const signupTag = tags('WebAuthn: Signup');

  app.post(`${P}/auth/webauthn/signup`, {
    schema: {
      tags: signupTag, summary: 'Initiate the passkey signup flow',
      description: 'An address (required) and a username (the address when absent), checked as auth/signup checks them, without a password. No account is made yet: the answer is 401 with the pending flow `mfa_signup_webauthn`; GET gives the creation options, PUT hands the passkey over and makes the account. 403 when the tenant\'s registration is closed.',
      params, headers, body: PasskeySignupBody, response: { ...common, 400: ErrorResponse, 401: AuthenticationResponse, 403: ForbiddenResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    refuseIfSignedIn(request);
    const { username, email, phone } = request.body;
    if (phone !== undefined) throw new DomainError('VALIDATION_FAILED', 'phone', { fields: { phone: ['Phone numbers are not supported.'] } });
    const { flowToken } = await core.passkeySignup.start(requestedTenant(request), { username, email });
    return answerPending(core, request, reply, { kind: 'signup', token: flowToken, step: 'mfa_signup_webauthn' });
  });

  app.get(`${P}/auth/webauthn/signup`, {
    schema: {
      tags: signupTag, summary: 'Get passkey credential creation options',
      description: 'For the pending `mfa_signup_webauthn` flow (409 otherwise): a passkey the authenticator keeps (resident key required) and that verifies its user. Only the latest options\' challenge completes the sign-up.',
      params, headers, response: { ...common, 200: SignupOptionsResponse, 409: ConflictResponse },
    },
  }, async (request) => {
    const f = pendingFlow(request, 'mfa_signup_webauthn');
    const publicKey = await core.passkeySignup.creationOptions(f.token);
    return { status: 200 as const, data: { creation_options: { publicKey }, request_options: { publicKey } } };
  });

  app.put(`${P}/auth/webauthn/signup`, {
    config: { credentialAnswer: true },
    schema: {
      tags: signupTag, summary: 'Complete the passkey signup flow',
      description: 'The new passkey (`credential`, its toJSON()) and its name: makes the account (no password; the passkey is its first factor) and signs it in (200), or 401 with `verify_email` pending when the tenant wants the address verified first. A credential that does not hold is 400 and leaves no account (ask GET again for a new challenge); a used or unknown flow is 409. No recovery codes are made (as django-allauth).',
      params, headers, body: AddBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    const f = pendingFlow(request, 'mfa_signup_webauthn');
    const outcome = await core.passkeySignup.complete(f.token, { name: request.body.name ?? 'Passkey', credential: request.body.credential }, issueFor(request));
    return answerOutcome(core, request, reply, outcome);
  });

  app.get(`${P}/account/authenticators/webauthn`, {
    config: { enrolment: true },
    schema: {
      tags: tag, summary: 'Get WebAuthn credential creation options',
      description: 'With `passwordless` (any value) the authenticator must keep a discoverable credential and verify its user, so the passkey signs in alone.',
      params, headers, querystring: PasswordLessQuery, response: { ...common, 200: CreationOptionsResponse, 401: AuthOrReauth, 409: ConflictResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    const passwordless = (request.query as { passwordless?: string }).passwordless !== undefined;
    return { status: 200 as const, data: { creation_options: { publicKey: await core.passkeys.registrationOptions(p.tenant, p.user, { passwordless }) } } };
  });

  app.post(`${P}/account/authenticators/webauthn`, {
    config: { enrolment: true },
    schema: {
      tags: tag, summary: 'Add a WebAuthn credential', params, headers, body: AddBody,
      response: { ...common, 200: AddWebAuthnAuthenticatorResponse, 400: ErrorResponse, 401: AuthOrReauth, 409: ConflictResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    const { id, recoveryCodes } = await core.passkeys.register(p.tenant, p.user, request.body.credential, request.body.name ?? 'Passkey');
    // Listed by the next GET account/authenticators/recovery-codes, as TOTP activation's are.
    if (recoveryCodes) rememberCodes(core, p, recoveryCodes);
    const added = (await core.secondFactors.list(p.user)).find((a) => a.id === id)!;
    return { status: 200 as const, data: present(added), meta: { recovery_codes_generated: recoveryCodes !== undefined } };
  });

  app.put(`${P}/account/authenticators/webauthn`, {
    schema: { tags: tag, summary: 'Rename a WebAuthn credential', params, headers, body: UpdateBody, response: { ...common, 200: WebAuthnAuthenticatorResponse, 400: ErrorResponse, 401: AuthOrReauth, 404: NotFound } },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    if (request.body.id === undefined) throw new DomainError('VALIDATION_FAILED', 'id', { fields: { id: ['This field is required.'] } });
    await core.passkeys.rename(p.user, request.body.id, request.body.name ?? '');
    const renamed = (await core.secondFactors.list(p.user)).find((a) => a.id === request.body.id)!;
    return { status: 200 as const, data: present(renamed) };
  });

  app.delete(`${P}/account/authenticators/webauthn`, {
    schema: { tags: tag, summary: 'Delete a WebAuthn credential', params, headers, body: DeleteBody, response: { ...common, 200: StatusOKResponse, 401: AuthOrReauth, 404: NotFound } },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    const mine = (await core.secondFactors.list(p.user)).filter((a) => a.type === 'webauthn');
    // All or nothing: an id that is not one of the user's passkeys removes none.
    if (request.body.authenticators.some((id) => !mine.some((a) => a.id === id))) throw new DomainError('NOT_FOUND', 'No such passkey.');
    for (const id of new Set(request.body.authenticators)) await core.secondFactors.remove(p.tenant, p.user, id);
    if (!(await core.secondFactors.recoveryCodes(p.user))) forgetCodes(p);
    return { status: 200 as const };
  });
}
