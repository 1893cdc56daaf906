import { InvalidClientError, OAuthError } from 'oauth2-server';

/**
 * Errors that mean "the database cannot answer right now": the client may retry. Besides an outage:
 * - ER_UNKNOWN_COM_ERROR (1047), a Galera node that is not ready: joining, catching up, or cut off
 *   from the majority ("WSREP has not yet prepared node for application use");
 * - ER_LOCK_WAIT_TIMEOUT (1205), also what a causal read (wsrep_sync_wait) answers on such a node;
 * - ER_LOCK_DEADLOCK (1213), a conflict still unresolved after the transaction's retries.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'ER_SERVER_SHUTDOWN', 'ER_UNKNOWN_COM_ERROR',
]);

/** RFC 9110 §10.2.3: when to try again after a 503; a cluster node rejoins or is evicted within seconds. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
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

/** 429: too many failed attempts (brute-force throttling), or requests; `Retry-After` says for how long. */
export class TooManyRequestsError extends OAuthError {
  constructor(readonly retryAfter: number, what = 'failed attempts') {
    super(`Too many ${what}: retry in ${retryAfter} seconds`, { code: 429, name: 'too_many_requests' });
  }
}

/**
 * 503 temporarily_unavailable (the RFC 6749 §4.1.2.1 code, as a JSON error): a service the request
 * needs (the SMS gateway) failed; the client may retry. `inner` is the cause, for the error log.
 */
export class TemporarilyUnavailableError extends OAuthError {
  constructor(message: string, readonly inner: unknown) {
    super(message, { code: 503, name: 'temporarily_unavailable' });
  }
}

/** 404 for a feature this server does not offer as configured (SMS login without SMS_SENDER). */
export class NotEnabledError extends OAuthError {
  constructor(message: string) {
    super(message, { code: 404, name: 'not_found' });
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
