// What the core threw, in the page's words. A sign-in never says whether the account exists:
// an unknown name, a wrong password and an inactive account are one message.
import { DomainError } from '../../core/index.ts';
import type { PageContext } from './context.ts';
import type { FieldMessages } from './views.ts';

/** The message for a failed sign-in, or undefined when the error is not one the page explains (rethrow it). */
export function signInErrorMessage(ctx: PageContext, err: unknown): string | undefined {
  if (!(err instanceof DomainError)) return undefined;
  switch (err.code) {
    case 'INVALID_CREDENTIALS': return ctx.t('badCredentials');
    case 'RATE_LIMITED': return ctx.t('rateLimited', { seconds: err.retryAfter ?? 1 });
    case 'ACCOUNT_LOCKED': return ctx.t('accountLocked');
    case 'SIGN_IN_PENDING': return ctx.t('verifyFirst');
    case 'VALIDATION_FAILED': return ctx.t('missingFields');
    default: return undefined;
  }
}

/** A validation error's field messages (the core's words), and the rest as one general message. */
export function fieldMessages(err: DomainError, fieldNames: readonly string[], aliases: Record<string, string> = {}): { fields: FieldMessages; general?: string } {
  const fields: FieldMessages = {};
  const rest: string[] = [];
  for (const [key, msgs] of Object.entries(err.fields ?? {})) {
    const k = Object.hasOwn(aliases, key) ? aliases[key]! : key;
    const list = (Array.isArray(msgs) ? msgs : [String(msgs)]).map(String);
    if (fieldNames.includes(k)) fields[k] = [...(fields[k] ?? []), ...list];
    else rest.push(...list);
  }
  if (!err.fields) rest.push(err.message);
  return { fields, general: rest.length ? rest.join(' ') : undefined };
}
