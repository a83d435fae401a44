// U+0000 in text: PostgreSQL refuses it in any text parameter (SQLSTATE 22021, which surfaced as
// a 500, even at the unauthenticated login endpoints) while SQLite stores it. Django REST framework
// refuses it in every CharField ("Null characters are not allowed."); so does every dialect here,
// before a handler runs: a NUL in a path parameter names nothing (404), one in the query or body
// is a validation error on its top-level field, in the dialect's own error shape.
import type { FastifyInstance } from 'fastify';
import { notFound, validationError } from '../core/index.ts';

export const NUL_MESSAGE = 'Null characters are not allowed.';

/** Whether a parsed value holds U+0000 in any string or key; iterative, so deep bodies cannot overflow. */
function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\0')) return true;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, c] of Object.entries(v)) {
        if (k.includes('\0')) return true;
        stack.push(c);
      }
    }
  }
  return false;
}

/** The top-level field of a query or body that holds a NUL, or undefined. */
function fieldWithNul(part: unknown): string | undefined {
  if (typeof part === 'string') return part.includes('\0') ? 'non_field_errors' : undefined;
  if (part === null || typeof part !== 'object') return undefined;
  for (const [k, v] of Object.entries(part)) if (k.includes('\0') || containsNul(v)) return k.replaceAll('\0', '');
  return undefined;
}

/** Registers the check for every route registered after it (call before the dialects). */
export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    // An unmatched path gets the 404 handler anyway; throwing here would reach the root's
    // default error handler (no dialect's), which answered a DomainError with a 500.
    if (request.is404) return;
    if (containsNul(request.params)) throw notFound();
    for (const part of [request.query, request.body]) {
      const field = fieldWithNul(part);
      if (field !== undefined) throw validationError({ [field]: [NUL_MESSAGE] });
    }
  });
}
