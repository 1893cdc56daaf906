import type { Context } from 'egg';
import { authenticateClient } from '../oauth/clientAuth';

/**
 * In front of every client-authenticating endpoint: the client is in ctx.state.client after it.
 * `allowPublic`: public clients may name themselves with client_id alone (token, revocation).
 */
export default (options: { allowPublic?: boolean } = {}) => async function clientAuth(ctx: Context, next: () => Promise<void>) {
  await authenticateClient(ctx, options);
  await next();
};
