// What a tenant requires of an account before a sign-in completes, checked after the first
// factor in this order. An unmet requirement leaves the sign-in pending at its step; a later
// request continues it (sign-in-flow.ts). A second factor is one more entry here (its step
// `mfa_authenticate`, met once an authenticator of the user has been checked), and so is consent.
import type { Settings } from '../settings/settings-schema.ts';
import type { Tenant, User } from '../types.ts';
import type { PendingStep } from './sign-in-request.ts';

export interface RequirementContext {
  user: User;
  tenant: Tenant;
  settings: Settings;
}

export interface Requirement {
  step: PendingStep;
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
];

export const requirementOf = (step: PendingStep): Requirement => REQUIREMENTS.find((r) => r.step === step)!;
