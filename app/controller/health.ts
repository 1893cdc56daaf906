import { Controller } from 'egg';

export default class HealthController extends Controller {
  /** GET /health: liveness for load balancers; touches no database (and is the benchmark's baseline). */
  async show() {
    this.ctx.body = { status: 'ok' };
  }
}
