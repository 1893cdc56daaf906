import { STATUS_CODES } from 'node:http';
import type { Context } from 'egg';
import { InvalidClientError, OAuthError, ServerError, UnauthorizedRequestError } from 'oauth2-server';
import { BROWSER_PAGES } from '../oauth/endpoints';
import { NO_STORE, TemporarilyUnavailableError, TooManyRequestsError, UNAVAILABLE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../oauth/errors';
import { errorPage } from '../view/pages';

/** A server error in the error log, with its cause: the engine wraps what it did not expect (`inner`). */
export function logServerError(ctx: Context, err: unknown): void {
  ctx.logger.error((err as { inner?: Error }).inner ?? err);
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: number } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

/**
 * The one place where an error becomes a response, as JSON in the RFC 6749 §5.2 shape:
 * - OAuth errors with their status and description, and the headers they need: `WWW-Authenticate`
 *   (RFC 6750 §3, RFC 6749 §5.2), `Retry-After` on 429;
 * - other 4xx (body parser, CSRF check, method not allowed) with a generic description, never an
 *   internal message;
 * - anything else as 503 with `Retry-After` when the database cannot answer now (out of reach, a
 *   cluster node not ready) or the SMS gateway failed, else 500: logged with its cause, answered
 *   without message, SQL or stack.
 * Client errors are not logged: a flood of bad logins must not fill the error log. `log: false` when
 * the caller logs server errors itself (egg-onerror).
 */
export function renderError(ctx: Context, err: unknown, { log = true } = {}): void {
  ctx.set(NO_STORE);
  if (BROWSER_PAGES.includes(ctx.path)) {
    renderPageError(ctx, err, log);
    return;
  }
  const status = err instanceof OAuthError ? err.code : statusOf(err);
  if (status !== undefined && status < 500 && !(err instanceof ServerError)) {
    ctx.status = status;
    if (err instanceof TooManyRequestsError) ctx.set('Retry-After', String(err.retryAfter));
    if (err instanceof InvalidClientError && !ctx.response.get('WWW-Authenticate')) {
      ctx.set('WWW-Authenticate', 'Basic realm="Service"');
    }
    if (err instanceof UnauthorizedRequestError) {
      // RFC 6750 §3.1: no error code in the header when no credentials were sent; the body still says why.
      ctx.body = { error: 'unauthorized', error_description: 'Authentication required: send Authorization: Bearer <access token>' };
    } else if (err instanceof OAuthError) {
      ctx.body = { error: err.name, error_description: err.message };
    } else {
      ctx.body = { error: status === 403 ? 'access_denied' : 'invalid_request', error_description: STATUS_CODES[status] ?? 'Bad Request' };
    }
    return;
  }
  if (err instanceof TemporarilyUnavailableError) {
    ctx.status = 503;
    ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    ctx.body = { error: err.name, error_description: err.message };
  } else if (isDatabaseUnavailable(err)) {
    ctx.status = 503;
    ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    ctx.body = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable, try again later' };
  } else {
    ctx.status = 500;
    ctx.body = { error: 'server_error', error_description: 'The server encountered an unexpected error' };
  }
  if (log) logServerError(ctx, err);
}

/** The same, as a page, for the browser pages (a CSRF refusal on the login form, an outage). */
function renderPageError(ctx: Context, err: unknown, log: boolean): void {
  const status = statusOf(err) ?? (err instanceof OAuthError ? err.code : 500);
  ctx.type = 'html';
  if (status < 500) {
    ctx.status = status;
    ctx.body = status === 403
      ? errorPage('Form expired', 'This form was open too long or came from elsewhere. Go back, reload the page and try again.')
      : errorPage('Invalid request', STATUS_CODES[status] ?? 'Bad Request');
    return;
  }
  if (isDatabaseUnavailable(err)) {
    ctx.status = 503;
    ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  } else {
    ctx.status = 500;
  }
  ctx.body = errorPage('Try again later', 'The service cannot answer right now. Try again in a moment.');
  if (log) logServerError(ctx, err);
}

/**
 * The outermost middleware (app.ts puts it first, before egg's body parser and security checks), so
 * that their errors are answered here too. The engine's error hook and egg-onerror hand over to
 * renderError.
 */
export default () => async function errorHandler(ctx: Context, next: () => Promise<void>) {
  try {
    await next();
  } catch (err) {
    renderError(ctx, err);
  }
};
