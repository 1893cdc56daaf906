import { createHmac } from 'node:crypto';
import path from 'node:path';
import type { Context, EggAppConfig, EggAppInfo, PowerPartial } from 'egg';
import { DEMO_CLIENT, DEMO_CODE_CLIENT } from './demo';
import type { SmsSendLimits } from '../app/core/smsSendLimits';
import type { ThrottleConfig } from '../app/core/throttle';
import type { RevocationFeedOptions } from '../app/infra/revocationFeed';
import type { TaggedCacheOptions } from '../app/infra/taggedCache';
import type { MetricsOptions } from '../app/infra/metrics';
import { type Argon2Options, OWASP_ARGON2ID } from '../app/core/password';
import { BROWSER_PAGES } from '../app/oauth/endpoints';
import { PasswordOrSmsGrant } from '../app/oauth/passwordOrSmsGrant';
import { databaseSettings } from './database';
import { type JwtConfig, jwtSettings } from './signing';
import { logDirectory } from './logDir';

/** Settings of this application, beside egg's and its plugins'. */
export interface BizConfig {
  oauth: {
    /** argon2id parameters for new password and client-secret hashes. */
    argon2: Argon2Options;
    /**
     * Password and client-secret hashes (argon2id, bcrypt) a worker computes at once; the rest wait in
     * turn. 0: the host's CPUs shared among its workers (at least one each).
     */
    hashConcurrency: number;
    /** RFC 8414 issuer, e.g. https://auth.example.com; empty = the origin of each metadata request. */
    issuer: string;
    /**
     * Seconds during which a just-rotated refresh token is still accepted (two browser tabs refreshing
     * at once). 0 = every second use is reuse and revokes the login.
     */
    refreshGracePeriod: number;
    cleanup: {
      /** How often the cleanup schedule runs (egg schedule interval). */
      interval: string;
      /** Rows deleted per statement, to keep locks short. */
      batchSize: number;
      /** Revoked grants (logouts, reuse) are kept this many seconds with their tokens, then deleted. */
      revokedRetention: number;
    };
    /** Brute-force throttling of the token endpoint; see the README's Security section. */
    throttle: ThrottleConfig;
    /** Every failed or throttled token request takes at least this long (timing tells nothing). */
    minFailureMs: number;
    limits: {
      maxPasswordLength: number;
    };
    /** How long `npm stop` waits for requests in flight (egg-cluster kills a worker after 5 s). */
    shutdownTimeoutMs: number;
    /** The browser session of the login page (egg's session cookie). */
    session: {
      /** Signed out after this long without a request. */
      idleSeconds: number;
      /** Signed out this long after the login, whatever happens. */
      absoluteSeconds: number;
    };
    /** Per-worker cache of Bearer lookups; see the README's Performance section. */
    tokenCache: TaggedCacheOptions;
    /** Per-worker cache of client lookups (client authentication); see the README's Performance section. */
    clientCache: TaggedCacheOptions;
    /** How each worker follows revocations made elsewhere (infra/revocationFeed). */
    revocationFeed: RevocationFeedOptions;
    /** Verified client secrets remembered per worker (keyed by the stored hash), so argon2 runs once per secret. */
    clientSecretCacheSize: number;
    /** JWT access tokens and their signing keys (JWT_* variables). */
    jwt: JwtConfig;
    /**
     * The region of phone numbers written without +country code (ISO 3166-1 alpha-2, e.g. CN), in logins
     * and on the command line; empty = only international numbers (+…) are phone numbers.
     */
    phoneRegion: string;
    /** Login by a one-time code sent by SMS; see the README's "Login by SMS code". */
    sms: {
      /** `log` (local, unittest), `file:<path>` or `webhook:<url>`; empty = SMS login is off. */
      sender: string;
      /** The HMAC key of stored codes; required in production when a sender is set. */
      codeKey: string;
      /** The message; `{code}` is replaced by the code, `{minutes}` by its lifetime. */
      text: string;
      codeTtlSeconds: number;
      /** Login attempts per code, right or wrong. */
      maxAttempts: number;
      /** Sends allowed; over one, 429 with Retry-After. Windows of at most a day (the cleanup's horizon). */
      limits: SmsSendLimits;
      /** Every 202 answer takes at least this long: a number's owner is sent a message, a stranger's number is not, and the time must not tell. */
      minResponseMs: number;
      webhook: {
        /** Key of the X-Signature HMAC. */
        secret: string;
        timeoutMs: number;
      };
    };
  };
  /** GET /metrics (Prometheus): off unless METRICS_TOKEN is set; see the README's "Metrics". */
  metrics: MetricsOptions;
  /**
   * The clients of the browser page at / (handed to it by GET /frontend/config.json). Both empty = the
   * page says none is configured.
   */
  frontend: {
    /**
     * The first-party client of the password form. A page cannot keep a secret: anyone can read this
     * one. Empty = the page offers no password form.
     */
    clientId: string;
    clientSecret: string;
    /**
     * The public client (no secret) of "Sign in with the authorization server": the code flow with
     * PKCE, the page's own URL as redirect URI. Empty = the page offers no such button.
     */
    codeClientId: string;
  };
}

/** A browser session ends this long after its login. */
const SESSION_ABSOLUTE_SECONDS = 12 * 3600;

/**
 * FRONTEND_CLIENT_ID / FRONTEND_CLIENT_SECRET and FRONTEND_CODE_CLIENT_ID, each else the demo client
 * where demo data may exist.
 */
function frontendClient(serverEnv: string, env: NodeJS.ProcessEnv = process.env): BizConfig['frontend'] {
  const demo = [ 'local', 'unittest' ].includes(serverEnv);
  const password = env.FRONTEND_CLIENT_ID
    ? { clientId: env.FRONTEND_CLIENT_ID, clientSecret: env.FRONTEND_CLIENT_SECRET || '' }
    : demo ? { clientId: DEMO_CLIENT.clientId, clientSecret: DEMO_CLIENT.secret } : { clientId: '', clientSecret: '' };
  const codeClientId = env.FRONTEND_CODE_CLIENT_ID || (demo ? DEMO_CODE_CLIENT.clientId : '');
  return { ...password, codeClientId };
}

export default (appInfo: EggAppInfo): PowerPartial<EggAppConfig> & BizConfig => {
  const config = {} as PowerPartial<EggAppConfig>;

  // Signs cookies; production refuses to start without APP_KEYS (config.prod.ts).
  config.keys = process.env.APP_KEYS || `${appInfo.name}_development_only_key`;

  // egg defaults this server has no use for, each a middleware on every request: `meta` tells every
  // client how long the server worked on its request (x-readtime), `overrideMethod` lets a form's
  // `_method` turn a POST into a PUT or DELETE, `siteFile` redirects /favicon.ico to eggjs.org.
  config.meta = { enable: false, logging: false };
  config.overrideMethod = { enable: false, allowedMethods: [] };
  // egg-core skips any middleware whose options say `enable: false`; egg's type of siteFile (a path map) leaves the flag out.
  (config as { siteFile?: unknown }).siteFile = { enable: false };

  // requestId, requestMetrics and errorHandler run first of all, ahead of egg's own middleware (app.ts).
  config.middleware = [ 'contentSecurityPolicy' ];

  config.logger = {
    dir: logDirectory(appInfo.baseDir, appInfo.name),
  };
  config.customLogger = {
    // One JSON object per line; see app/lib/audit.ts.
    auditLogger: {
      file: 'audit.log',
      formatter: (meta?: { message?: string }) => meta?.message ?? '',
      consoleLevel: 'NONE',
    },
  };

  // Small bodies: a token request is a few hundred bytes.
  config.bodyParser = {
    formLimit: '16kb',
    jsonLimit: '16kb',
    queryString: { arrayLimit: 20, depth: 2, parameterLimit: 50 },
  };

  // Behind a load balancer, set TRUST_PROXY=1 so that the client IP (throttling, audit) comes from the
  // last X-Forwarded-For hop; never trust the header otherwise, any client can write it.
  config.proxy = process.env.TRUST_PROXY === '1';
  config.maxIpsCount = 1;

  config.cluster = {
    listen: { port: Number(process.env.PORT || 7001), hostname: process.env.HOST || '' },
  };

  config.mysql = {
    client: databaseSettings(appInfo.env) as never,
    app: true,
    agent: false,
  };

  // Options of @node-oauth/oauth2-server, through egg-oauth2-server.
  config.oAuth2Server = {
    debug: false,
    // Grant types this server runs; a client must also be registered for one to use it.
    grants: [ 'password', 'refresh_token', 'client_credentials', 'authorization_code' ],
    // RFC 6749 §4.1.2: a code lives a short while (the engine's default is 5 minutes).
    authorizationCodeLifetime: 60,
    // A public client proves nothing at the token endpoint but its PKCE verifier (authorization_code)
    // or its refresh token; clientAuth decides which clients may go without a secret.
    requireClientAuthentication: { authorization_code: false, refresh_token: false },
    // RFC 6749 §4.1.1: state is RECOMMENDED, not required; PKCE protects the flow.
    allowEmptyState: true,
    accessTokenLifetime: 7200,
    refreshTokenLifetime: 60 * 24 * 3600,
    // The engine's errors go to our errorHandler middleware, with the headers the engine set
    // (WWW-Authenticate), rather than egg-oauth2-server's own answers.
    errorHandler(ctx: Context, err: Error, response?: { headers: Record<string, string> }): never {
      if (response) ctx.set(response.headers);
      throw err;
    },
    // saveToken sets expires_in itself: the engine computes it after the save, and floors it.
    allowExtendedTokenAttributes: true,
    // The password grant, which also reads Spring's auth_type=sms (the engine's never passes it on).
    extendedGrantTypes: { password: PasswordOrSmsGrant },
  };

  config.security = {
    csrf: {
      // Only the pages a session cookie signs in to; exact paths (egg-security's string form is a
      // prefix match). The secret lives in the signed, encrypted session cookie, not a readable one.
      match: (ctx: { path: string }) => BROWSER_PAGES.includes(ctx.path),
      useSession: true,
    },
    // Our own contentSecurityPolicy middleware sends it (egg-security's parses every User-Agent).
    csp: { enable: false },
    // Headers for browsers long gone, a middleware each on every request: X-XSS-Protection is
    // deprecated (OWASP Secure Headers: do not set it; the CSP is what stops script injection) and
    // X-Download-Options is Internet Explorer 8's.
    xssProtection: { enable: false },
    noopen: { enable: false },
  };

  // On every response of our routes (the page at /, and JSON, where it costs nothing). Scripts,
  // styles and fetches only from this origin: no inline script, no eval, no other host.
  config.contentSecurityPolicy = {
    policy: {
      'default-src': "'self'",
      'object-src': "'none'",
      'base-uri': "'none'",
      'form-action': "'self'",
      'frame-ancestors': "'none'",
    },
  };

  // The login page's browser session: httpOnly, SameSite=Lax (Strict would drop it on the client's
  // cross-site redirect to /oauth/authorize), Secure in production (config.prod.ts), never logged.
  config.session = {
    key: 'oauth2_session',
    // The cookie outlives no session: signedInUser ends it earlier (oauth.session).
    maxAge: SESSION_ABSOLUTE_SECONDS * 1000,
    httpOnly: true,
    sameSite: 'lax',
    encrypt: true,
    renew: false,
    logValue: false,
    // Only the pages a session cookie signs in to read or write it: every other endpoint neither parses
    // nor sets it (no session middleware on the API's requests).
    match: (ctx: { path: string }) => BROWSER_PAGES.includes(ctx.path),
  };

  config.static = {
    // Besides app/public under /public/: the browser build of qs, which the page's login form uses.
    dirs: [{ prefix: '/vendor/qs/', dir: path.join(path.dirname(require.resolve('qs/package.json')), 'dist') }],
  };

  const bizConfig: BizConfig = {
    oauth: {
      argon2: { ...OWASP_ARGON2ID },
      // One per CPU: more only share the cores, with each other and with the requests' own work.
      hashConcurrency: Number(process.env.OAUTH_HASH_CONCURRENCY || 0),
      issuer: process.env.OAUTH_ISSUER || '',
      refreshGracePeriod: Number(process.env.OAUTH_REFRESH_GRACE_SECONDS || 0),
      cleanup: {
        interval: '10m',
        batchSize: 1000,
        revokedRetention: 7 * 24 * 3600,
      },
      throttle: {
        enabled: true,
        // Keycloak's defaults for one account: 30 failures, 1-minute increments, 15-minute cap.
        user: { threshold: 30, windowSeconds: 12 * 3600, stepSeconds: 60, maxBlockSeconds: 15 * 60 },
        // One account from one IP locks sooner, briefly: the owner elsewhere is not locked out.
        userIp: { threshold: 5, windowSeconds: 15 * 60, stepSeconds: 30, maxBlockSeconds: 15 * 60 },
        // Credential stuffing: many usernames from one IP.
        ip: { threshold: 100, windowSeconds: 3600, stepSeconds: 60, maxBlockSeconds: 15 * 60 },
        // Client-secret guessing, per IP: a client id is public, so a client-wide lock would let anyone
        // lock out every user of a browser client.
        clientIp: { threshold: 100, windowSeconds: 3600, stepSeconds: 60, maxBlockSeconds: 15 * 60 },
        knownAddressSeconds: 30 * 24 * 3600,
        // Far beyond any real attempt (an argon2 check, two short transactions, the 1 s database timeouts).
        reservationSeconds: 60,
      },
      minFailureMs: 300,
      limits: {
        // Usernames are limited by their column (core/credentials.ts).
        maxPasswordLength: 1024,
      },
      shutdownTimeoutMs: 4000,
      session: { idleSeconds: 30 * 60, absoluteSeconds: SESSION_ABSOLUTE_SECONDS },
      // Entries end at their token's expiry, 15 min at the latest: revocations reach every worker through
      // the revocation feed within its poll (100 ms), so the cache need not forget to stay correct.
      tokenCache: { ttlMs: Number(process.env.OAUTH_TOKEN_CACHE_MS ?? 15 * 60 * 1000), max: 10000 },
      // Disabling, enabling or deleting a client reaches every worker through the feed as well; the TTL
      // bounds only a change made by hand in SQL.
      clientCache: { ttlMs: Number(process.env.OAUTH_CLIENT_CACHE_MS ?? 60 * 1000), max: 1000 },
      revocationFeed: { pollMs: 100, windowSeconds: 2 },
      clientSecretCacheSize: 1000,
      jwt: jwtSettings(appInfo.env),
      phoneRegion: process.env.PHONE_DEFAULT_REGION || '',
      sms: {
        sender: process.env.SMS_SENDER ?? ([ 'local', 'unittest' ].includes(appInfo.env) ? 'log' : ''),
        // Outside production (config.prod.ts demands SMS_CODE_KEY), a key derived from the app's keys.
        codeKey: process.env.SMS_CODE_KEY || createHmac('sha256', config.keys).update('sms code key').digest('hex'),
        text: process.env.SMS_TEXT || 'Your sign-in code is {code}. It expires in {minutes} minutes.',
        codeTtlSeconds: 300,
        maxAttempts: 5,
        limits: {
          phoneMinute: { limit: 1, windowSeconds: 60 },
          phoneHour: { limit: 5, windowSeconds: 3600 },
          ip: { limit: 20, windowSeconds: 3600 },
          daily: { limit: Number(process.env.SMS_DAILY_LIMIT || 1000), windowSeconds: 24 * 3600 },
        },
        minResponseMs: 1000,
        webhook: {
          secret: process.env.SMS_WEBHOOK_SECRET || '',
          timeoutMs: Number(process.env.SMS_WEBHOOK_TIMEOUT_MS || 5000),
        },
      },
    },
    frontend: frontendClient(appInfo.env),
    // `secret`: egg leaves keys with that word out of its config dump (run/*_config.json).
    metrics: { secret: process.env.METRICS_TOKEN || '', pushMs: 5000 },
  };

  return { ...config, ...bizConfig };
};
