// What a tenant requires of an account before a sign-in completes, checked after the first
// factor in this order. An unmet requirement leaves the sign-in pending at its step; a later
// request continues it (sign-in-flow.ts). The second factor is one (`mfa_authenticate`, met once
// an authenticator of the user has been checked); consent would be one more.
import type { Settings } from '../settings/settings-schema.ts';
import type { Tenant, User } from '../types.ts';
import type { PendingStep } from './sign-in-request.ts';
import { SECOND_FACTOR_METHODS } from '../mfa/second-factors.ts';

export interface RequirementContext {
  user: User;
  tenant: Tenant;
  settings: Settings;
  /** What the sign-in has proven so far. */
  amr: readonly string[];
  /** Whether the user has a second factor enrolled. */
  secondFactor: boolean;
  /** Whether the browser carries a trust token of this user (it skips the second factor). */
  trusted: boolean;
}

export interface Requirement {
  step: PendingStep;
  /**
   * Met by setting something up once signed in (a second factor the tenant requires): a front-end
   * that can show it completes the sign-in with a credential that may only do that (Principal
   * `mustEnrol`); the others refuse the sign-in.
   */
  enrolment?: boolean;
  /** Said to the person when a front-end cannot show the step (SIGN_IN_PENDING's message). */
  message: string;
  isMet(ctx: RequirementContext): boolean;
}

export const REQUIREMENTS: readonly Requirement[] = [
  {
    step: 'verify_email',
    message: 'E-mail is not verified.',
    isMet: ({ user, settings }) => !settings.email_verification_mandatory || user.emailVerified,
  },
  {
    step: 'mfa_authenticate',
    message: 'This account has a second factor: sign in through the hosted sign-in page (/account/login/) or the headless API (/_allauth/), which ask for it.',
    // A passkey sign-in proved possession and user verification at once: it needs no second step.
    isMet: ({ amr, secondFactor, trusted }) => !secondFactor || trusted || amr.some((m) => SECOND_FACTOR_METHODS.includes(m)),
  },
  {
    step: 'mfa_enroll',
    enrolment: true,
    message: 'This tenant requires a second factor: set one up through the hosted pages (/account/security/) or the headless API first.',
    isMet: ({ settings, secondFactor, amr }) => !settings.mfa_required || secondFactor || amr.some((m) => SECOND_FACTOR_METHODS.includes(m)),
  },
];

export const requirementOf = (step: PendingStep): Requirement => REQUIREMENTS.find((r) => r.step === step)!;
