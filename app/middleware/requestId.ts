import { randomBytes } from 'node:crypto';
import type { Context } from 'egg';

const ACCEPTED = /^[\w.:-]{1,64}$/;
/** Random per process, so that ids of several workers and hosts do not collide; a counter after it (cheap on the hot path). */
const PREFIX = randomBytes(4).toString('hex');
let counter = 0;

/** A request id for logs and the audit trail: the caller's X-Request-Id when sane, else a new one. */
export default () => async function requestId(ctx: Context, next: () => Promise<void>) {
  const given = ctx.get('x-request-id');
  counter = (counter + 1) % 0x100000000;
  ctx.state.requestId = ACCEPTED.test(given) ? given : `${PREFIX}${counter.toString(16).padStart(8, '0')}`;
  ctx.set('X-Request-Id', ctx.state.requestId);
  await next();
};
