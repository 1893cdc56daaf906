import type { Context } from 'egg';

/**
 * Times every request into the metrics' histogram, labelled with the router's matched route (never the
 * raw path: a bounded set of labels), the method and the final status. It runs just outside the
 * errorHandler, so it sees the status of error answers too. Installed only while /metrics is on (app.ts).
 */
export default () => async function requestMetrics(ctx: Context, next: () => Promise<void>) {
  const end = ctx.app.metrics.requests.startTimer();
  try {
    await next();
  } finally {
    end({ route: (ctx as { _matchedRoute?: string })._matchedRoute ?? '(unmatched)', method: ctx.method, status: String(ctx.status) });
  }
};
