import type { Application } from 'egg';
import { type AuditEvent, type AuditFields, auditLine } from '../core/audit';
import { createContainer, type Container } from '../infra/container';
import { LoginThrottle } from '../core/throttle';

const CONTAINER = Symbol('Application#container');
const THROTTLE = Symbol('Application#loginThrottle');

type App = Application & { [CONTAINER]?: Container; [THROTTLE]?: LoginThrottle };

export default {
  /** The per-worker container: repositories and domain objects on app.mysql, built once per worker (not egg's per-request ctx.service). */
  get container(): Container {
    const app = this as unknown as App;
    const { argon2, tokenCache, clientSecretCacheSize, jwt } = app.config.oauth;
    app[CONTAINER] ??= createContainer(app.mysql, { argon2, tokenCache, clientSecretCacheSize, jwt, production: app.config.env === 'prod' });
    return app[CONTAINER];
  },

  /** Brute-force throttling of the token endpoint (config.oauth.throttle). */
  get loginThrottle(): LoginThrottle {
    const app = this as unknown as App;
    app[THROTTLE] ??= new LoginThrottle(app.container.throttle, app.config.oauth.throttle, app.config.keys);
    return app[THROTTLE];
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
  },
};
