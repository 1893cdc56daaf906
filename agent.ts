import type { Agent, IBoot } from 'egg';
import { CLUSTER_METRICS, MetricsAggregator, type MetricsSnapshot, WORKER_METRICS } from './app/infra/metrics';

/**
 * The agent sums the workers' metrics (each sends its figures every `metrics.pushMs`) and hands the
 * sum back to every worker, so that GET /metrics answers for the whole host whichever worker serves it.
 */
export default class AgentBootHook implements IBoot {
  private timer?: NodeJS.Timeout;

  constructor(private readonly agent: Agent) {}

  async didReady() {
    const { agent } = this;
    const { secret, pushMs } = agent.config.metrics;
    if (!secret) return;
    const aggregator = new MetricsAggregator(pushMs);
    agent.messenger.on(WORKER_METRICS, ({ pid, metrics }: { pid: number; metrics: MetricsSnapshot }) => aggregator.report(pid, metrics));
    this.timer = setInterval(() => {
      aggregator.text().then(text => {
        if (text) agent.messenger.sendToApp(CLUSTER_METRICS, text);
      }, err => agent.coreLogger.warn('[metrics] cannot sum the workers\' figures: %s', (err as Error).message));
    }, pushMs);
    this.timer.unref();
  }

  async beforeClose() {
    clearInterval(this.timer);
  }
}
