import type { Context, EggAppConfig } from 'egg';
import { UnsupportedGrantTypeError } from 'oauth2-server';
import { formParameters } from '../lib/clientAuth';

/**
 * Checks a token request before the engine sees it: no repeated or nested parameter (RFC 6749 §3.2),
 * and only grant types this server runs (config.oAuth2Server.grants). Errors go to errorHandler.
 */
export default (_options: unknown, app: { config: EggAppConfig }) => {
  const enabledGrants = new Set<string>(app.config.oAuth2Server.grants);
  return async function tokenRequest(ctx: Context, next: () => Promise<void>) {
    const { grant_type: grantType } = formParameters(ctx);
    if (grantType && !enabledGrants.has(grantType)) {
      throw new UnsupportedGrantTypeError('Unsupported grant type: `grant_type` is invalid');
    }
    await next();
  };
};
