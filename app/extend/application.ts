import type { Application } from 'egg';
import { type AuditEvent, type AuditFields, auditLine } from '../core/audit';
import { phoneRegion } from '../core/identifiers';
import { createContainer, type Container } from '../infra/container';
import { LoginThrottle } from '../core/throttle';
import { Metrics } from '../infra/metrics';

const CONTAINER = Symbol('Application#container');
const THROTTLE = Symbol('Application#loginThrottle');
const METRICS = Symbol('Application#metrics');

type App = Application & { [CONTAINER]?: Container; [THROTTLE]?: LoginThrottle; [METRICS]?: Metrics };

export default {
  /** The per-worker container: repositories and domain objects on app.mysql, built once per worker (not egg's per-request ctx.service). */
  get container(): Container {
    const app = this as unknown as App;
    const { argon2, tokenCache, clientSecretCacheSize, jwt } = app.config.oauth;
    app[CONTAINER] ??= createContainer(app.mysql, {
      argon2, tokenCache, clientSecretCacheSize, jwt, production: app.config.env === 'prod', phoneRegion: phoneRegion(app.config.oauth.phoneRegion),
    });
    return app[CONTAINER];
  },

  /** Brute-force throttling of the token endpoint (config.oauth.throttle). */
  get loginThrottle(): LoginThrottle {
    const app = this as unknown as App;
    app[THROTTLE] ??= new LoginThrottle(app.container.throttle, app.config.oauth.throttle, app.config.keys);
    return app[THROTTLE];
  },

  /** This worker's Prometheus figures (GET /metrics). */
  get metrics(): Metrics {
    const app = this as unknown as App;
    app[METRICS] ??= new Metrics({
      cacheStats: () => app.container.tokenCache?.stats ?? { hits: 0, misses: 0 },
      pool: () => app.mysql.stats,
    });
    return app[METRICS];
  },

  /**
   * Writes one audit line (logs/…/audit.log), with the request id and IP of the request in progress.
   * Never pass a token, secret or password.
   */
  audit(event: AuditEvent, fields: AuditFields = {}): void {
    const app = this as unknown as Application;
    const ctx = app.currentContext;
    const request = ctx ? { requestId: ctx.state.requestId, ip: ctx.ip } : {};
    app.getLogger('auditLogger').info(auditLine(event, { ...request, ...fields }));
    // Reasons are a fixed set (LoginFailure, within_grace_period): bounded labels.
    app.metrics.events.inc({ event, reason: fields.reason ?? '' });
  },
};
