import { availableParallelism } from 'node:os';
import type { Application } from 'egg';
import { type AuditEvent, type AuditFields, auditLine } from '../core/audit';
import { phoneRegion } from '../core/identifiers';
import { SmsCodes } from '../core/smsCodes';
import { SmsSendLimiter } from '../core/smsSendLimits';
import { createContainer, type Container } from '../infra/container';
import { type SmsSender, createSmsSender, parseSenderSpec } from '../infra/smsSender';
import { LoginThrottle } from '../core/throttle';
import { Metrics } from '../infra/metrics';

const CONTAINER = Symbol('Application#container');
const THROTTLE = Symbol('Application#loginThrottle');
const METRICS = Symbol('Application#metrics');
const SMS_CODES = Symbol('Application#smsCodes');
const SMS_LIMITER = Symbol('Application#smsLimiter');
const SMS_SENDER = Symbol('Application#smsSender');

type App = Application & {
  /** egg-core's app.options: what egg-cluster started this worker with, the number of workers among it. */
  options: { workers?: number };
  [CONTAINER]?: Container;
  [THROTTLE]?: LoginThrottle;
  [METRICS]?: Metrics;
  [SMS_CODES]?: SmsCodes;
  [SMS_LIMITER]?: SmsSendLimiter;
  [SMS_SENDER]?: { settings: string; sender: SmsSender | null };
};

export default {
  /** The per-worker container: repositories and domain objects on app.mysql, built once per worker (not egg's per-request ctx.service). */
  get container(): Container {
    const app = this as unknown as App;
    if (!app[CONTAINER]) {
      const { argon2, hashConcurrency, tokenCache, clientCache, clientSecretCacheSize, jwt } = app.config.oauth;
      // Absent under egg-mock: one worker.
      const workers = app.options.workers || 1;
      app[CONTAINER] = createContainer(app.mysql, {
        argon2,
        hashConcurrency: hashConcurrency || Math.ceil(availableParallelism() / workers),
        tokenCache, clientCache, clientSecretCacheSize, jwt, production: app.config.env === 'prod', phoneRegion: phoneRegion(app.config.oauth.phoneRegion),
      });
    }
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
      hashesWaiting: () => app.container.hasher.waiting,
    });
    return app[METRICS];
  },

  /** SMS login codes (config.oauth.sms). */
  get smsCodes(): SmsCodes {
    const app = this as unknown as App;
    const { codeKey: key, codeTtlSeconds: ttlSeconds, maxAttempts } = app.config.oauth.sms;
    app[SMS_CODES] ??= new SmsCodes(app.container.smsCodes, { key, ttlSeconds, maxAttempts });
    return app[SMS_CODES];
  },

  /** The send limits of SMS login codes (config.oauth.sms.limits). */
  get smsLimiter(): SmsSendLimiter {
    const app = this as unknown as App;
    app[SMS_LIMITER] ??= new SmsSendLimiter(app.container.throttle, app.config.oauth.sms.limits, app.config.keys);
    return app[SMS_LIMITER];
  },

  /**
   * The SMS sender that config.oauth.sms.sender names, or null when SMS login is off. Built again when
   * its settings change (tests switch senders); a bad setting throws, at start-up (app.ts).
   */
  get smsSender(): SmsSender | null {
    const app = this as unknown as App;
    const { sender: spec, webhook } = app.config.oauth.sms;
    const settings = JSON.stringify([ spec, webhook ]);
    if (app[SMS_SENDER]?.settings !== settings) {
      const sender = spec ? createSmsSender(parseSenderSpec(spec), {
        log: message => app.logger.info(message),
        webhookSecret: webhook.secret,
        webhookTimeoutMs: webhook.timeoutMs,
      }) : null;
      app[SMS_SENDER] = { settings, sender };
    }
    return app[SMS_SENDER].sender;
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
