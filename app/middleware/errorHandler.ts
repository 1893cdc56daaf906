import type { Context } from 'egg';
import { OAuthError } from 'oauth2-server';
import { handleOAuthError, respondServerFailure } from '../oauth/errors';

/**
 * Turns any error escaping a controller into a JSON response: OAuth errors as RFC 6749 §5.2 bodies,
 * 4xx thrown on purpose (ctx.throw, body parser) with their status and message, anything else as a
 * logged 5xx with a generic body.
 */
export default () => async function errorHandler(ctx: Context, next: () => Promise<void>) {
  try {
    await next();
  } catch (err) {
    if (err instanceof OAuthError) {
      handleOAuthError(ctx, err);
      return;
    }
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) {
      ctx.status = status;
      ctx.body = { error: 'invalid_request', error_description: (err as Error).message };
      return;
    }
    respondServerFailure(ctx, err);
  }
};
