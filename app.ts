import type { Application, IBoot } from 'egg';
import { hasDemoData, loadDemoData } from './app/lib/demo';
import { migrate } from './app/lib/migrator';
import { useUtcSessions } from './app/lib/utcSessions';

export default class AppBootHook implements IBoot {
  constructor(private readonly app: Application) {}

  configWillLoad() {
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
    useUtcSessions(this.app.mysql);
  }

  async willReady() {
    const { app } = this;
    try {
      await migrate(app.mysql, app.coreLogger);
    } catch (err) {
      const db = app.config.mysql.client;
      throw new Error(`cannot migrate MySQL database ${db?.database} at ${db?.host}:${db?.port} (check MYSQL_* settings): ${(err as Error).message}`);
    }
    await app.services.accounts.warmUp();
    if (hasDemoData(app.config.env)) {
      const created = await loadDemoData(app.services);
      if (created.length > 0) app.coreLogger.info('[demo] created %s', created.join(', '));
    }
  }
}
