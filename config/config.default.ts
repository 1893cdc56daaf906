import type { EggAppConfig, EggAppInfo, PowerPartial } from 'egg';
import { handleOAuthError } from '../app/lib/errors';
import { type Argon2Options, OWASP_ARGON2ID } from '../app/lib/password';
import { TOKEN_PATHS } from '../app/router';
import { databaseSettings } from './database';

/** Settings of this application, beside egg's and its plugins'. */
export interface BizConfig {
  oauth: {
    /** argon2id parameters for new password and client-secret hashes. */
    argon2: Argon2Options;
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
    grants: [ 'password' ],
    accessTokenLifetime: 7200,
    refreshTokenLifetime: 60 * 24 * 3600,
    // We answer every OAuth error ourselves: JSON bodies, no stack traces, 4xx not logged.
    errorHandler: handleOAuthError,
  };

  config.security = {
    csrf: {
      // The token endpoints authenticate the client on every request and set no cookie: exempt
      // exactly these paths (egg-security's string form is a prefix match).
      ignore: (ctx: { path: string }) => TOKEN_PATHS.includes(ctx.path),
    },
  };

  const bizConfig: BizConfig = {
    oauth: {
      argon2: { ...OWASP_ARGON2ID },
    },
  };

  return { ...config, ...bizConfig };
};
