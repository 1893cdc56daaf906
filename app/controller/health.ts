import { Controller } from 'egg';

export default class HealthController extends Controller {
  /** GET /health: liveness for load balancers; touches no database (and is the benchmark's baseline). */
  async show() {
    this.ctx.body = { status: 'ok' };
  }

  /**
   * GET /health/ready: readiness, for a load balancer that should send no traffic to a host whose
   * database is out of reach: 200, or the errorHandler's 503 temporarily_unavailable.
   */
  async ready() {
    await this.app.container.health.ping();
    this.ctx.set('Cache-Control', 'no-store');
    this.ctx.body = { status: 'ok', database: 'ok' };
  }
}
