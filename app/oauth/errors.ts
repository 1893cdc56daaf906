import { STATUS_CODES } from 'node:http';
import type { Context } from 'egg';
import { InvalidClientError, OAuthError, ServerError, UnauthorizedRequestError } from 'oauth2-server';

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

export interface ErrorBody {
  error: string;
  error_description: string;
}

/**
 * The response for an unexpected failure: 503 when the database is out of reach (retry later),
 * else 500. The description never carries the internal message, SQL or stack.
 */
export function serverFailure(err: unknown): { status: number; body: ErrorBody } {
  return isDatabaseUnavailable(err)
    ? { status: 503, body: { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable, try again later' } }
    : { status: 500, body: { error: 'server_error', error_description: 'The server encountered an unexpected error' } };
}

/** Sets the response for a failure that is not the client's fault and logs it with its cause. */
export function respondServerFailure(ctx: Context, err: unknown): void {
  const { status, body } = serverFailure(err);
  ctx.status = status;
  ctx.body = body;
  ctx.logger.error((err as { inner?: Error }).inner ?? err);
}

interface EngineResponse {
  headers: Record<string, string>;
}

/**
 * egg-oauth2-server's `errorHandler`: answers RFC 6749 §5.2 / RFC 6750 §3 errors as JSON with the
 * engine's headers (WWW-Authenticate). Client errors (4xx) are not logged: a flood of bad logins
 * must not fill the error log. Server errors are logged with their cause and answered generically.
 */
export function handleOAuthError(ctx: Context, err: Error, response?: EngineResponse): void {
  if (response) ctx.set(response.headers);
  ctx.set(NO_STORE);
  if (err instanceof TooManyRequestsError) ctx.set('Retry-After', String(err.retryAfter));
  if (!(err instanceof OAuthError) || err instanceof ServerError || err.code >= 500) {
    respondServerFailure(ctx, err);
    return;
  }
  ctx.status = err.code;
  // RFC 6749 §5.2: a 401 invalid_client carries the challenge of the scheme the client can use.
  if (err instanceof InvalidClientError && err.code === 401 && !ctx.response.get('WWW-Authenticate')) {
    ctx.set('WWW-Authenticate', 'Basic realm="Service"');
  }
  ctx.body = err instanceof UnauthorizedRequestError
    // RFC 6750 §3.1: no error code in the header when no credentials were sent; the body still says why.
    ? { error: 'unauthorized', error_description: 'Authentication required: send Authorization: Bearer <access token>' }
    : { error: err.name, error_description: err.message };
}

function statusOf(err: unknown): number {
  const status = (err as { status?: number } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/**
 * egg-onerror's handlers, for errors raised before our middleware runs (body parser, CSRF check):
 * always JSON, in the RFC 6749 §5.2 shape, with no internal message; only 5xx are logged.
 */
export const uncaughtErrors = {
  accepts: () => 'json',
  json(this: Context, err: Error) {
    const status = statusOf(err);
    if (status >= 500) {
      const failure = serverFailure(err);
      this.status = failure.status;
      this.body = failure.body;
      return;
    }
    this.status = status;
    this.body = { error: status === 403 ? 'access_denied' : 'invalid_request', error_description: STATUS_CODES[status] ?? 'Bad Request' };
  },
  appErrorFilter: (err: Error) => statusOf(err) >= 500,
};
