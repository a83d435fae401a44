// The REST-auth API's answers to every core error: Django REST framework's shapes, as the v1
// API's, except where dj-rest-auth words a sign-in's refusal as a validation error of its form.
import type { FastifyRequest } from 'fastify';
import type { DomainError } from '../../../core/index.ts';
import { isMfaStep, type Answer, type DomainAnswers } from '../../errors.ts';
import { drfErrorHandler, V1_ERRORS } from '../v1/error-map.ts';

const nonField = (message: string): Answer => ({ status: 400, body: { non_field_errors: [message] } });

export const REST_AUTH_ERRORS = {
  ...V1_ERRORS,
  // dj-rest-auth's LoginSerializer: "Unable to log in with provided credentials." (400).
  INVALID_CREDENTIALS: () => nonField('Unable to log in with provided credentials.'),
  // ... and "E-mail is not verified." (400) for a sign-in waiting on its address.
  // A due second factor: on the login form, its validation error with the code; through HTTP Basic
  // on any other route (a refused authentication), DRF's 403 with the code, as the v1 API answers.
  SIGN_IN_PENDING: (err: DomainError, request: FastifyRequest) => (!isMfaStep(err) ? nonField(err.message)
    : request.routeOptions.url?.includes('/login') ? { status: 400, body: { non_field_errors: [err.message], code: 'mfa_required' } }
    : V1_ERRORS.SIGN_IN_PENDING(err)),
} as const satisfies DomainAnswers;

export const restAuthErrorHandler = drfErrorHandler(REST_AUTH_ERRORS);
