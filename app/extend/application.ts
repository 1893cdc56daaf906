import type { Application } from 'egg';
import { createServices, type Services } from '../lib/services';

const SERVICES = Symbol('Application#services');

export default {
  /** Repositories and account logic on app.mysql, built once per worker. */
  get services(): Services {
    const app = this as unknown as Application & { [SERVICES]?: Services };
    app[SERVICES] ??= createServices(app.mysql, app.config.oauth.argon2);
    return app[SERVICES];
  },
};
