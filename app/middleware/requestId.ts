import { randomBytes } from 'node:crypto';
import type { Context } from 'egg';

const ACCEPTED = /^[\w.:-]{1,64}$/;

/** A request id for logs and the audit trail: the caller's X-Request-Id when sane, else a new one. */
export default () => async function requestId(ctx: Context, next: () => Promise<void>) {
  const given = ctx.get('x-request-id');
  ctx.state.requestId = ACCEPTED.test(given) ? given : randomBytes(8).toString('hex');
  ctx.set('X-Request-Id', ctx.state.requestId);
  await next();
};
