import type { Context } from 'egg';
import { authenticateClient } from '../oauth/clientAuth';

/** In front of every client-authenticating endpoint: the client is in ctx.state.client after it. */
export default () => async function clientAuth(ctx: Context, next: () => Promise<void>) {
  await authenticateClient(ctx);
  await next();
};
