// Domain objects -> the REST-auth API's JSON.
import type { EmailAddress } from '../../../core/index.ts';

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const presentEmail = (a: EmailAddress) => ({ email: a.email, id: a.pk, primary: a.primary, user: a.userPk, verified: a.verified });

export const presentUser = (u: { pk: number; username: string; email: string; firstName: string; lastName: string }) =>
  ({ pk: u.pk, username: u.username, email: u.email, first_name: u.firstName, last_name: u.lastName });
