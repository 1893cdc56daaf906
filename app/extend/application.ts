import type { Application } from 'egg';
import { type AuditEvent, type AuditFields, auditLine } from '../core/audit';
import { createServices, type Services } from '../infra/container';
import { LoginThrottle } from '../core/throttle';

const SERVICES = Symbol('Application#services');
const THROTTLE = Symbol('Application#loginThrottle');

type App = Application & { [SERVICES]?: Services; [THROTTLE]?: LoginThrottle };

export default {
  /** Repositories and account logic on app.mysql, built once per worker. */
  get services(): Services {
    const app = this as unknown as App;
    const { argon2, tokenCache, clientSecretCacheSize } = app.config.oauth;
    app[SERVICES] ??= createServices(app.mysql, { argon2, tokenCache, clientSecretCacheSize });
    return app[SERVICES];
  },

  /** Brute-force throttling of the token endpoint (config.oauth.throttle). */
  get loginThrottle(): LoginThrottle {
    const app = this as unknown as App;
    app[THROTTLE] ??= new LoginThrottle(app.services.throttle, app.config.oauth.throttle, app.config.keys);
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
