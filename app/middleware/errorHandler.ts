import type { Context } from 'egg';
import { respondServerFailure } from '../lib/errors';

/**
 * Turns any error escaping a controller into a JSON response. 5xx are logged (without request
 * bodies); 4xx thrown on purpose (ctx.throw) keep their status and message.
 */
export default () => async function errorHandler(ctx: Context, next: () => Promise<void>) {
  try {
    await next();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) {
      ctx.status = status;
      ctx.body = { error: 'invalid_request', error_description: (err as Error).message };
      return;
    }
    respondServerFailure(ctx, err);
  }
};
