// The headless API's account endpoints: e-mail addresses, password change, authenticators (TOTP,
// recovery codes), sessions, and the app client's token refresh.
import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatorView, Core, Principal } from '../../../core/index.ts';
import { DomainError } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import {
  AuthenticatedResponse, AuthenticationResponse, AuthenticatorsResponse, ChangePasswordBody, Client, ConflictResponse, EmailAddresses, EmailBody,
  EndSessionsBody, ErrorResponse, MarkPrimaryEmailBody, NotFound, RecoveryCodesResponse, ReauthenticationResponse, RefreshTokenBody,
  RefreshTokenResponse, SessionTokenHeader, Sessions, SetupTOTPBody, StatusOKResponse, TOTPAuthenticatorNotFound, TOTPAuthenticatorResponse,
  common, tags, type Options, type TypedApp,
} from './schemas.ts';
import { answerAuthenticated, signedIn, signOutHeld, ts } from './kit.ts';
import { forgetCodes, recallCodes, rememberCodes } from './fresh-codes.ts';
import { Type } from '@sinclair/typebox';

const P = '/_allauth/:client/v1';
const params = Client;
const headers = SessionTokenHeader;
/**
 * A 401 is either kind: not signed in (AuthenticationResponse) or not recently enough
 * (ReauthenticationResponse; the specification lists only this one). `anyOf`: a reauthentication
 * answer is also a valid authentication answer (its `is_authenticated` is a boolean there).
 */
const AuthOrReauth = Type.Unsafe<any>({ anyOf: [ReauthenticationResponse, AuthenticationResponse] });

const presentAuthenticator = (a: AuthenticatorView) => {
  const base = { created_at: ts(a.createdAt), last_used_at: a.lastUsedAt === null ? null : ts(a.lastUsedAt) };
  if (a.type === 'totp') return { ...base, type: 'totp' };
  if (a.type === 'recovery_codes') return { ...base, type: 'recovery_codes', total_code_count: a.totalCodes ?? 0, unused_code_count: a.unusedCodes ?? 0 };
  return { ...base, type: 'webauthn', id: a.id, name: a.name ?? '', ...(a.passwordless === undefined ? {} : { is_passwordless: a.passwordless }) };
};

/** A session's id as the specification's integer: 48 bits of its SHA-256 (stable, not guessable into another's). */
export const sessionNumber = (id: string) => Number.parseInt(crypto.hash('sha256', id, 'hex').slice(0, 12), 16);

export async function accountRoutes(app: TypedApp, { core }: Options) {
  const addresses = async (p: Principal) => {
    const page = await core.emailAddresses.list(p, { offset: 0, limit: 1000 });
    return { status: 200 as const, data: page.items.map((a) => ({ email: a.email, primary: a.primary, verified: a.verified })) };
  };
  const addressOf = async (p: Principal, email: string) => {
    const page = await core.emailAddresses.list(p, { offset: 0, limit: 1000 });
    const found = page.items.find((a) => a.email.toLowerCase() === email.trim().toLowerCase());
    if (!found) throw new DomainError('VALIDATION_FAILED', 'email', { fields: { email: ['This address is not one of yours.'] } });
    return found;
  };

  app.get(`${P}/account/email`, {
    schema: { tags: tags('email'), summary: 'List email addresses', params, headers, response: { ...common, 200: EmailAddresses, 401: AuthenticationResponse } },
  }, async (request) => addresses(signedIn(request)));

  app.post(`${P}/account/email`, {
    schema: {
      tags: tags('email'), summary: 'Add email address', description: 'Adds an address and mails its verification link. Needs a recent sign-in or reauthentication.',
      params, headers, body: EmailBody, response: { ...common, 200: EmailAddresses, 400: ErrorResponse, 401: AuthOrReauth, 409: ConflictResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    await core.emailAddresses.add(p, request.body.email);
    return addresses(p);
  });

  app.put(`${P}/account/email`, {
    schema: {
      tags: tags('email'), summary: 'Request email verification', params, headers, body: EmailBody,
      response: { ...common, 200: StatusOKResponse, 401: AuthenticationResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.emailAddresses.sendVerification(p, (await addressOf(p, request.body.email)).pk);
    return { status: 200 };
  });

  app.patch(`${P}/account/email`, {
    schema: {
      tags: tags('email'), summary: 'Change primary email address', description: 'Only a verified address can be primary. Needs a recent sign-in or reauthentication.',
      params, headers, body: MarkPrimaryEmailBody, response: { ...common, 200: EmailAddresses, 400: ErrorResponse, 401: AuthOrReauth },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    await core.emailAddresses.makePrimary(p, (await addressOf(p, request.body.email)).pk);
    return addresses(p);
  });

  app.delete(`${P}/account/email`, {
    schema: {
      tags: tags('email'), summary: 'Remove an email address', description: 'Needs a recent sign-in or reauthentication.',
      params, headers, body: EmailBody, response: { ...common, 200: EmailAddresses, 400: ErrorResponse, 401: AuthOrReauth },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    await core.emailAddresses.remove(p, (await addressOf(p, request.body.email)).pk);
    return addresses(p);
  });

  app.post(`${P}/account/password/change`, {
    config: { fieldNames: { new_password2: 'new_password', old_password: 'current_password' } },
    schema: {
      tags: tags('password'), summary: 'Change password',
      description: 'The current password is needed when the account has one. Needs a recent sign-in or reauthentication. Answers the session (200): this session stays signed in, the others end.',
      params, headers, body: ChangePasswordBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthOrReauth },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    const { current_password, new_password } = request.body;
    if (p.user.passwordHash !== null) {
      if (current_password === undefined) throw new DomainError('VALIDATION_FAILED', 'current', { fields: { current_password: ['This field is required.'] } });
      await core.passwordChange.change(p, { current: current_password, next: new_password });
    } else {
      await core.passwordChange.changeConfirmed(p, { new1: new_password, new2: new_password });
    }
    return answerAuthenticated(core, p);
  });

  app.get(`${P}/account/authenticators`, {
    config: { enrolment: true },
    schema: { tags: tags('2FA'), summary: 'List authenticators', params, headers, response: { ...common, 200: AuthenticatorsResponse, 401: AuthenticationResponse } },
  }, async (request) => {
    const p = signedIn(request);
    return { status: 200, data: (await core.secondFactors.list(p.user)).map(presentAuthenticator) };
  });

  app.get(`${P}/account/authenticators/totp`, {
    config: { enrolment: true },
    schema: {
      tags: tags('2FA'), summary: 'TOTP authenticator status',
      description: 'The active TOTP authenticator (200), or none (404) with a secret to set one up: `meta.secret`, `meta.totp_url` (otpauth://) and `meta.totp_svg` (the URI as a QR code, SVG). The same secret for ten minutes.',
      params, headers, response: { ...common, 200: TOTPAuthenticatorResponse, 404: TOTPAuthenticatorNotFound, 409: ConflictResponse, 401: AuthenticationResponse },
    },
  }, async (request, reply) => {
    const p = signedIn(request);
    const active = (await core.secondFactors.list(p.user)).find((a) => a.type === 'totp');
    if (active) return { status: 200, data: presentAuthenticator(active) };
    const setup = await core.secondFactors.totpSetup(p.tenant, p.user);
    return reply.code(404).send({ status: 404, meta: { secret: setup.secret, totp_url: setup.uri, totp_svg: setup.svg } });
  });

  app.post(`${P}/account/authenticators/totp`, {
    config: { enrolment: true },
    schema: {
      tags: tags('2FA'), summary: 'Activate TOTP', description: 'The code from the app set up with the secret of GET. The first second factor also makes ten recovery codes (`meta.recovery_codes_generated`; GET recovery-codes shows them for five minutes).',
      params, headers, body: SetupTOTPBody, response: { ...common, 200: TOTPAuthenticatorResponse, 400: ErrorResponse, 401: AuthOrReauth, 409: ConflictResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    const { recoveryCodes } = await core.secondFactors.totpActivate(p.tenant, p.user, request.body.code);
    if (recoveryCodes) rememberCodes(core, p, recoveryCodes);
    const active = (await core.secondFactors.list(p.user)).find((a) => a.type === 'totp')!;
    return { status: 200, meta: { recovery_codes_generated: recoveryCodes !== undefined }, data: presentAuthenticator(active) };
  });

  app.delete(`${P}/account/authenticators/totp`, {
    schema: { tags: tags('2FA'), summary: 'Deactivate TOTP', params, headers, response: { ...common, 200: StatusOKResponse, 401: AuthOrReauth, 404: NotFound } },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    await core.secondFactors.totpDeactivate(p.tenant, p.user);
    forgetCodes(p);
    return { status: 200 };
  });

  const recoveryAnswer = async (p: Principal, codes: string[]) => {
    const rc = (await core.secondFactors.list(p.user)).find((a) => a.type === 'recovery_codes');
    if (!rc) throw new DomainError('NOT_FOUND', 'No recovery codes.');
    return { status: 200 as const, data: { ...presentAuthenticator(rc), unused_codes: codes } };
  };

  app.get(`${P}/account/authenticators/recovery-codes`, {
    config: { enrolment: true },
    schema: {
      tags: tags('2FA'), summary: 'List recovery codes', description: 'Counts of the recovery codes. `unused_codes` lists them only within five minutes of making them, in the session that made them (only hashes are kept); empty otherwise.',
      params, headers, response: { ...common, 200: RecoveryCodesResponse, 401: AuthOrReauth, 404: NotFound },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    return recoveryAnswer(p, recallCodes(core, p));
  });

  app.post(`${P}/account/authenticators/recovery-codes`, {
    config: { enrolment: true },
    schema: {
      tags: tags('2FA'), summary: 'Regenerate recovery codes', description: 'Ten new codes replace all the old ones; answered once (200, `unused_codes`).',
      params, headers, response: { ...common, 200: RecoveryCodesResponse, 400: ErrorResponse, 401: AuthOrReauth },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.require(p);
    const codes = await core.secondFactors.regenerateRecoveryCodes(p.tenant, p.user);
    rememberCodes(core, p, codes);
    return recoveryAnswer(p, codes);
  });

  const sessionsOf = async (p: Principal) => {
    const list = (await core.signIns.list(p)).filter((s) => s.kind === 'session');
    return list.map((s) => ({ user_agent: '', ip: '', created_at: ts(s.createdAt), is_current: s.current, id: sessionNumber(s.id.slice('session:'.length)) }));
  };

  app.get(`${P}/auth/sessions`, {
    config: { enrolment: true },
    schema: { tags: tags('sessions'), summary: 'List sessions', params, headers, response: { ...common, 200: Sessions, 401: AuthenticationResponse } },
  }, async (request) => ({ status: 200, data: await sessionsOf(signedIn(request)) }));

  app.delete(`${P}/auth/sessions`, {
    config: { enrolment: true },
    schema: { tags: tags('sessions'), summary: 'End one or more sessions', params, headers, body: EndSessionsBody, response: { ...common, 200: Sessions, 401: AuthenticationResponse } },
  }, async (request, reply) => {
    const p = signedIn(request);
    const wanted = new Set(request.body.sessions);
    const current = p.sessionId !== undefined && wanted.has(sessionNumber(p.sessionId));
    for (const s of (await core.signIns.list(p)).filter((x) => x.kind === 'session' && !x.current)) {
      if (wanted.has(sessionNumber(s.id.slice('session:'.length)))) await core.signIns.revoke(p, s.id);
    }
    if (current) {
      await signOutHeld(core, request);
      // The current one ended: this client is signed out (401), as allauth answers.
      request.headless = { client: request.headless!.client };
      throw new DomainError('NOT_AUTHENTICATED', 'Signed out.');
    }
    void reply;
    return { status: 200, data: await sessionsOf(p) };
  });

  app.post('/_allauth/app/v1/tokens/refresh', {
    config: { credentialAnswer: true },
    schema: {
      tags: tags('tokens'), summary: 'Refresh the access token', description: 'A new access token and a new refresh token (the refresh token rotates; a reused one ends its family).',
      body: RefreshTokenBody, response: { ...common, 200: RefreshTokenResponse, 400: ErrorResponse },
    },
  }, async (request: FastifyRequest<{ Body: { refresh_token: string } }>) => {
    const asked = requestedTenant(request);
    const tenant = asked === undefined ? undefined : await core.tenants.resolve(asked);
    try {
      const pair = await core.tokenPairs.refresh(request.body.refresh_token, { tenant, refreshFormat: 'opaque' });
      return { status: 200, data: { access_token: pair.access, refresh_token: pair.refresh } };
    } catch (err) {
      if (err instanceof DomainError && err.code === 'TOKEN_INVALID') throw new DomainError('VALIDATION_FAILED', 'refresh', { fields: { refresh_token: ['The refresh token is invalid or expired.'] } });
      throw err;
    }
  });
}
