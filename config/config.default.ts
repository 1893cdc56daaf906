import type { EggAppConfig, EggAppInfo, PowerPartial } from 'egg';
import { handleOAuthError, uncaughtErrors } from '../app/lib/errors';
import { type Argon2Options, OWASP_ARGON2ID } from '../app/lib/password';
import { CLIENT_AUTHENTICATED_POSTS } from '../app/router';
import { databaseSettings } from './database';

/** Settings of this application, beside egg's and its plugins'. */
export interface BizConfig {
  oauth: {
    /** argon2id parameters for new password and client-secret hashes. */
    argon2: Argon2Options;
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
      /** Revoked and rotated tokens are kept this many seconds (reuse detection, audit), then deleted. */
      revokedRetention: number;
    };
  };
}

export default (appInfo: EggAppInfo): PowerPartial<EggAppConfig> & BizConfig => {
  const config = {} as PowerPartial<EggAppConfig>;

  // Signs cookies; production refuses to start without APP_KEYS (config.prod.ts).
  config.keys = process.env.APP_KEYS || `${appInfo.name}_development_only_key`;

  config.middleware = [ 'errorHandler', 'bearerScheme' ];

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
    grants: [ 'password', 'refresh_token', 'client_credentials' ],
    accessTokenLifetime: 7200,
    refreshTokenLifetime: 60 * 24 * 3600,
    // We answer every OAuth error ourselves: JSON bodies, no stack traces, 4xx not logged.
    errorHandler: handleOAuthError,
  };

  config.onerror = uncaughtErrors;

  config.security = {
    csrf: {
      // Exact paths: egg-security's string form is a prefix match.
      ignore: (ctx: { path: string }) => CLIENT_AUTHENTICATED_POSTS.includes(ctx.path),
    },
  };

  const bizConfig: BizConfig = {
    oauth: {
      argon2: { ...OWASP_ARGON2ID },
      issuer: process.env.OAUTH_ISSUER || '',
      refreshGracePeriod: Number(process.env.OAUTH_REFRESH_GRACE_SECONDS || 0),
      cleanup: {
        interval: '10m',
        batchSize: 1000,
        revokedRetention: 7 * 24 * 3600,
      },
    },
  };

  return { ...config, ...bizConfig };
};
