/** Socket-level failures: the server is down, restarting, or cut off. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs that mean "not now" rather than "wrong": class 08
 * (connection exception), 57P01-57P03 (shut down, crashed, starting up),
 * 53300 (too many connections).
 */
function isTransientSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** node-postgres reports a lost or timed-out connection with messages and no code. */
const lostConnectionMessage =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Connection closed/i;

/**
 * Whether an error means the database cannot be reached right now (as
 * opposed to a bug or a rejected statement), so that the caller should be
 * told UNAVAILABLE and try again. TypeORM wraps driver errors in
 * QueryFailedError (driverError); several addresses give AggregateError.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 3 || typeof error !== 'object' || error === null) return false;
  const { code, message, driverError, errors } = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && (networkCodes.has(code) || isTransientSqlState(code))) return true;
  if (typeof message === 'string' && lostConnectionMessage.test(message)) return true;
  if (driverError !== undefined && isDatabaseUnavailable(driverError, depth + 1)) return true;
  if (Array.isArray(errors)) return errors.some((inner) => isDatabaseUnavailable(inner, depth + 1));
  return false;
}
