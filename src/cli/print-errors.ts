import { DomainError } from '../core/index.ts';

/** Prints a domain error's field messages; returns false when `err` is not one (rethrow it). */
export function printDomainError(err: unknown): boolean {
  if (!(err instanceof DomainError)) return false;
  if (err.fields) for (const [field, msgs] of Object.entries(err.fields)) console.error(`${field}: ${msgs.join(' ')}`);
  else console.error(err.message);
  return true;
}
