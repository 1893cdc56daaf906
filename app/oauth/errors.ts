import { InvalidClientError, OAuthError } from 'oauth2-server';

/** Errors that mean "the database cannot be reached right now": the client may retry. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'ER_SERVER_SHUTDOWN',
]);
const UNAVAILABLE_NAMES = new Set([ 'PoolWaitTimeoutError', 'RDSClientGetConnectionError' ]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; inner?: unknown } | null;
  if (!e) return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
  return e.inner ? isDatabaseUnavailable(e.inner) : false;
}

/** For every answer that carries or refuses a credential (RFC 6749 §5.1). */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** 429: too many failed attempts (brute-force throttling); `Retry-After` says for how long. */
export class TooManyRequestsError extends OAuthError {
  constructor(readonly retryAfter: number) {
    super(`Too many failed attempts: retry in ${retryAfter} seconds`, { code: 429, name: 'too_many_requests' });
  }
}

/**
 * RFC 6749 §5.2 invalid_client. Always 401 with a Basic challenge (the errorHandler adds it): the
 * RFC allows 401 for every client-authentication failure and requires it when the Authorization
 * header was used; RFC 7662 §2.3 asks for 401 on introspection. One status for every endpoint.
 */
export function invalidClient(): InvalidClientError {
  return new InvalidClientError('Invalid client: client is invalid', { code: 401 });
}

/** RFC 8707 §2: a resource the client may not ask for. */
export class InvalidTargetError extends OAuthError {
  constructor(message: string) {
    super(message, { code: 400, name: 'invalid_target' });
  }
}
