import type { Context } from 'egg';

/**
 * RFC 7235 §2.1: the auth scheme is case-insensitive, and real clients send `bearer`; the engine only
 * matches `Bearer `. Rewrite the scheme to its canonical case before it looks.
 */
export default () => async function bearerScheme(ctx: Context, next: () => Promise<void>) {
  const header = ctx.get('authorization');
  if (header && /^bearer /i.test(header) && !header.startsWith('Bearer ')) {
    ctx.request.headers.authorization = `Bearer ${header.slice(7)}`;
  }
  await next();
};
