// Domain errors: a stable code and a message safe to show; never an HTTP status.
// Each dialect maps every code to its own status and body in one exhaustive table.

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_AUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_INVALID'
  | 'PERMISSION_DENIED'
  | 'CSRF_FAILED'
  | 'NOT_FOUND'
  | 'TENANT_UNAVAILABLE'
  | 'INVALID_CLIENT'
  | 'UNAUTHORIZED_CLIENT'
  | 'INVALID_SCOPE'
  | 'RATE_LIMITED'
  | 'ACCOUNT_LOCKED'
  /** The credentials were right, but the sign-in waits on a step (`step`) this front-end cannot show. */
  | 'SIGN_IN_PENDING'
  /** A signed-in session must prove itself again (password or second factor) before this change: allauth's reauthentication. */
  | 'REAUTHENTICATION_REQUIRED'
  | 'UNAVAILABLE';

/** Field name -> messages; the key `non_field_errors` holds messages about the whole input. */
export type FieldErrors = Record<string, string[]>;

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly fields: FieldErrors | undefined;
  /** Seconds, for RATE_LIMITED. */
  readonly retryAfter: number | undefined;
  /** The step a sign-in waits on, for SIGN_IN_PENDING. */
  readonly step: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { fields?: FieldErrors; retryAfter?: number; step?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'DomainError';
    this.code = code;
    this.fields = opts.fields;
    this.retryAfter = opts.retryAfter;
    this.step = opts.step;
  }
}

export const validationError = (fields: FieldErrors, message = 'Invalid input.') =>
  new DomainError('VALIDATION_FAILED', message, { fields });

export const fieldError = (field: string, message: string) => validationError({ [field]: [message] });

export const notFound = (what = 'Not found.') => new DomainError('NOT_FOUND', what);

export const permissionDenied = () =>
  new DomainError('PERMISSION_DENIED', 'You do not have permission to perform this action.');

export const notAuthenticated = () =>
  new DomainError('NOT_AUTHENTICATED', 'Authentication credentials were not provided.');

export const tokenInvalid = (message = 'Token is invalid or expired') => new DomainError('TOKEN_INVALID', message);

export const invalidCredentials = () =>
  new DomainError('INVALID_CREDENTIALS', 'No active account found with the given credentials');

/** Collects field messages so that one answer lists every problem of an input. */
export class FieldErrorBag {
  readonly fields: FieldErrors = {};
  add(field: string, message: string): void {
    (this.fields[field] ??= []).push(message);
  }
  get empty(): boolean {
    return Object.keys(this.fields).length === 0;
  }
  throwIfAny(): void {
    if (!this.empty) throw validationError(this.fields);
  }
}
