import type { Server } from 'node:http';
import type { Application, Context, IBoot } from 'egg';
import { renderError } from './app/middleware/errorHandler';
import { loadDemoData } from './app/infra/demo';
import { hasDemoData } from './config/demo';
import { databaseSettings } from './config/database';
import { migrate } from './app/infra/migrator';
import { drainServer } from './app/infra/shutdown';
import { prepareSessions } from './app/infra/dbSession';
import { RevocationFeed } from './app/infra/revocationFeed';
import { type SigningKeyRefresh, loadSigningKeys } from './app/infra/signingKeyRefresh';
import { addBearerOptions } from './app/oauth/bearer';
import { leanEngineRequests } from './app/oauth/engine';
import { CLUSTER_METRICS, WORKER_METRICS } from './app/infra/metrics';
import { checkSmsSettings } from './app/oauth/smsLogin';

export default class AppBootHook implements IBoot {
  private server?: Server;
  private feed?: RevocationFeed;
  private keyRefresh?: SigningKeyRefresh;
  private metricsTimer?: NodeJS.Timeout;

  constructor(private readonly app: Application) {
    // egg-cluster hands each worker its HTTP server; `npm stop` (SIGTERM) then closes the app.
    app.on('server', (server: Server) => {
      this.server = server;
    });
  }

  configWillLoad() {
    const { config } = this.app;
    // Ahead of egg's own middleware (body parser, security checks): their errors are answered by the
    // one errorHandler too, every answer carries its request id and is counted in the metrics.
    // requestMetrics only while /metrics is on: a layer fewer on every request otherwise.
    config.coreMiddleware.unshift('requestId', ...config.metrics.secret ? [ 'requestMetrics' ] : [], 'errorHandler');
    // What still escapes it (an error koa hands to ctx.onerror, e.g. from a response stream) is
    // answered the same way, as JSON; egg-onerror logs it, server errors only.
    config.onerror = {
      ...config.onerror,
      accepts: () => 'json',
      all: (err: Error, ctx: Context) => renderError(ctx, err, { log: false }),
      appErrorFilter: (err: Error & { status?: number }) => !(typeof err.status === 'number' && err.status < 500),
    };

    // Request log lines name the path, never the query string: clients put tokens (check_token) and
    // even passwords (Spring-style /oauth/token?password=…) there.
    const Base = this.app.ContextLogger;
    this.app.ContextLogger = class PathOnlyContextLogger extends Base {
      get paddingMessage(): string {
        const padding = super.paddingMessage;
        const { url, path } = this.ctx as { url: string; path: string };
        return padding.endsWith(`${url}]`) ? `${padding.slice(0, -url.length - 1)}${path}]` : padding;
      }
    };
  }

  configDidLoad() {
    // The settings config.mysql.client holds (egg-mysql types it without poolWaitTimeout).
    prepareSessions(this.app.mysql, databaseSettings(this.app.config.env));
    // egg-oauth2-server's boot (a plugin's, so before ours) made app.oAuth2Server; the router loads later.
    leanEngineRequests(this.app);
    addBearerOptions(this.app);
  }

  /** Bad SMS or phone settings stop the start, not the first request that needs them. */
  async didLoad() {
    checkSmsSettings(this.app);
  }

  /**
   * The worker's token and client caches follow revocations made by every other worker and host; its
   * signing keys follow rotations.
   */
  async didReady() {
    const { app } = this;
    const { tokenCache, clientCache, revocations } = app.container;
    this.keyRefresh?.start();
    this.shareMetrics();
    const caches = [ tokenCache, clientCache ].filter(cache => cache !== undefined);
    if (caches.length === 0) return;
    const feed = new RevocationFeed(revocations, caches, app.config.oauth.revocationFeed, app.coreLogger);
    app.metrics.sources.revocationFeedAge = () => feed.ageSeconds;
    feed.start();
    this.feed = feed;
  }

  /** Each worker hands its figures to the agent, which sends every worker the sum (agent.ts). */
  private shareMetrics() {
    const { app } = this;
    const { secret, pushMs } = app.config.metrics;
    if (!secret) return;
    app.messenger.on(CLUSTER_METRICS, (text: string) => {
      app.metrics.clusterText = text;
    });
    this.metricsTimer = setInterval(() => {
      app.metrics.snapshot().then(metrics => app.messenger.sendToAgent(WORKER_METRICS, { pid: process.pid, metrics }), err => {
        app.coreLogger.warn('[metrics] cannot collect this worker\'s figures: %s', (err as Error).message);
      });
    }, pushMs);
    this.metricsTimer.unref();
  }

  /** Graceful shutdown: requests in flight are answered before the worker (and its pool) goes. */
  async beforeClose() {
    this.feed?.stop();
    this.keyRefresh?.stop();
    clearInterval(this.metricsTimer);
    if (this.server) await drainServer(this.server, this.app.config.oauth.shutdownTimeoutMs);
  }

  async willReady() {
    const { app } = this;
    try {
      await migrate(app.mysql, app.coreLogger);
    } catch (err) {
      const db = app.config.mysql.client;
      throw new Error(`cannot migrate MySQL database ${db?.database} at ${db?.host}:${db?.port} (check MYSQL_* settings): ${(err as Error).message}`);
    }
    await app.container.credentials.warmUp();
    const { signingKeys, clients } = app.container;
    this.keyRefresh = await loadSigningKeys(signingKeys, clients, app.config.oauth.jwt, app.coreLogger);
    if (hasDemoData(app.config.env)) {
      const created = await loadDemoData(app.container);
      if (created.length > 0) app.coreLogger.info('[demo] created %s', created.join(', '));
    }
  }
}
