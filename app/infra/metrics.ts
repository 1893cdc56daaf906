import { AggregatorRegistry, Counter, Gauge, Histogram, type MetricObjectWithValues, type MetricValue, Registry, collectDefaultMetrics } from 'prom-client';

/** One worker's figures as the registry exports them. */
export type MetricsSnapshot = Array<MetricObjectWithValues<MetricValue<string>>>;

export interface MetricsOptions {
  /** The Bearer secret of GET /metrics (METRICS_TOKEN); empty = the route does not exist. */
  secret: string;
  /** How often each worker hands its figures to the agent, which sums them for every worker to serve. */
  pushMs: number;
}

/** What the metrics read from other parts of the worker, when a scrape asks. */
export interface MetricsSources {
  /** Token-cache lookups so far. */
  cacheStats?: () => { hits: number; misses: number };
  /** Seconds since the revocation feed last read the database. */
  revocationFeedAge?: () => number;
  /** The MySQL pool of this worker. */
  pool?: () => { busyConnections: number; freeConnections: number; connectionQueue: number };
  /** Password and client-secret hashes waiting for a slot (core/password). */
  hashesWaiting?: () => number;
}

/** Message names between the workers and the agent (egg's messenger). */
export const WORKER_METRICS = 'metrics:worker';
export const CLUSTER_METRICS = 'metrics:cluster';

/**
 * This worker's Prometheus figures. Requests by route and status (a histogram: its `_count` is the
 * request count), tokens issued per grant, audit events (login failures and throttling per reason),
 * token-cache lookups, the revocation feed's age, the MySQL pool, the hashes waiting for a slot, and
 * Node's own (event-loop lag, memory, CPU). Labels take bounded values only: the matched route, never
 * the raw path.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Histogram<'route' | 'method' | 'status'>;
  readonly tokensIssued: Counter<'grant_type'>;
  readonly events: Counter<'event' | 'reason'>;
  /** The agent's sum of every worker's figures, as Prometheus text; empty until the first one. */
  clusterText = '';

  /** Filled in as the worker starts (the revocation feed starts last). */
  constructor(readonly sources: MetricsSources = {}) {
    const registers = [ this.registry ];
    this.requests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Requests by matched route, method and status, and how long they took',
      labelNames: [ 'route', 'method', 'status' ],
      buckets: [ 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 ],
      registers,
    });
    this.tokensIssued = new Counter({ name: 'oauth_tokens_issued_total', help: 'Tokens issued, per grant type', labelNames: [ 'grant_type' ], registers });
    this.events = new Counter({
      name: 'oauth_events_total',
      help: 'Audit events: login_success, login_failure (reason unknown_user, wrong_password, disabled_user), client_auth_failure, throttled, token_refresh, refresh_reuse, code_reuse, revocation',
      labelNames: [ 'event', 'reason' ],
      registers,
    });
    new Counter({
      name: 'oauth_token_cache_lookups_total',
      help: 'Bearer lookups answered by the worker\'s token cache (hit) or by MySQL (miss)',
      labelNames: [ 'result' ],
      registers,
      collect() {
        const stats = sources.cacheStats?.() ?? { hits: 0, misses: 0 };
        this.reset();
        this.inc({ result: 'hit' }, stats.hits);
        this.inc({ result: 'miss' }, stats.misses);
      },
    });
    new Gauge({
      name: 'oauth_revocation_feed_age_seconds',
      help: 'Seconds since the revocation feed last read MySQL (the bound on how late a revocation made elsewhere is seen); the oldest worker\'s',
      registers,
      aggregator: 'max',
      collect() {
        if (sources.revocationFeedAge) this.set(sources.revocationFeedAge());
      },
    });
    new Gauge({
      name: 'mysql_pool_connections',
      help: 'MySQL connections of the workers\' pools: in use, idle, and requests waiting for one',
      labelNames: [ 'state' ],
      registers,
      collect() {
        const stats = sources.pool?.();
        if (!stats) return;
        this.set({ state: 'in_use' }, stats.busyConnections);
        this.set({ state: 'idle' }, stats.freeConnections);
        this.set({ state: 'waiting' }, stats.connectionQueue);
      },
    });
    new Gauge({
      name: 'oauth_password_hashes_waiting',
      help: 'Password and client-secret hashes waiting for one of the workers\' hashing slots (oauth.hashConcurrency each)',
      registers,
      collect() {
        if (sources.hashesWaiting) this.set(sources.hashesWaiting());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** This worker's figures, for the agent. */
  async snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  /** What GET /metrics answers: every worker's figures summed, or this worker's until the agent has sent a sum. */
  async text(): Promise<string> {
    return this.clusterText || this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The agent's side: the latest figures of each worker, summed (counters and histograms add up, gauges
 * as each metric says). A worker that has not reported for three periods is gone, and left out.
 */
export class MetricsAggregator {
  private readonly latest = new Map<number, { at: number; metrics: MetricsSnapshot }>();

  constructor(private readonly pushMs: number) {}

  report(pid: number, metrics: MetricsSnapshot, now = Date.now()): void {
    this.latest.set(pid, { at: now, metrics });
  }

  async text(now = Date.now()): Promise<string> {
    for (const [ pid, { at }] of this.latest) {
      if (at < now - 3 * this.pushMs) this.latest.delete(pid);
    }
    if (this.latest.size === 0) return '';
    return AggregatorRegistry.aggregate([ ...this.latest.values() ].map(entry => entry.metrics)).metrics();
  }
}
