// Recognising engine errors the core must turn into domain answers.

interface EngineError {
  code?: string;
}

/** A UNIQUE or PRIMARY KEY constraint refused the write (a race the core's checks lost). */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as EngineError | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006',
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY',
]);

/** The database could not be reached or could not take the work right now. */
export function isUnavailable(err: unknown): boolean {
  const e = err as EngineError & { message?: string } | null;
  if (!e) return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  const msg = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|The database connection is not open|driver has already been destroyed/i.test(msg);
}
