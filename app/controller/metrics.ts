import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller } from 'egg';
import { UnauthorizedRequestError } from 'oauth2-server';

const digest = (value: string) => createHash('sha256').update(value).digest();

export default class MetricsController extends Controller {
  /**
   * GET /metrics: Prometheus text, every worker's figures summed by the agent. Only with METRICS_TOKEN
   * set (404 otherwise), and only for `Authorization: Bearer <METRICS_TOKEN>`: the figures tell an
   * attacker how their guessing goes.
   */
  async show() {
    const { ctx, app } = this;
    const { secret } = app.config.metrics;
    if (!secret) {
      ctx.status = 404;
      return;
    }
    const sent = /^Bearer (.+)$/i.exec(ctx.get('authorization'))?.[1] ?? '';
    // Compared as digests: equal lengths, constant time.
    if (!timingSafeEqual(digest(sent), digest(secret))) {
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedRequestError('Unauthorized request: no authentication given');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = app.metrics.contentType;
    ctx.body = await app.metrics.text();
  }
}
