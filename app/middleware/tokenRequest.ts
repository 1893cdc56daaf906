import type { Context, EggAppConfig } from 'egg';
import { UnsupportedGrantTypeError } from 'oauth2-server';
import { basicCredentials, formParameters, invalidClient } from '../lib/clientAuth';

/**
 * Checks a token request before the engine sees it: no repeated or nested parameter (RFC 6749 §3.2),
 * a readable Basic header (else 401 invalid_client, §5.2), and only grant types this server runs
 * (config.oAuth2Server.grants). Hands the engine the form-decoded Basic credentials (§2.3.1).
 * Errors go to errorHandler.
 */
export default (_options: unknown, app: { config: EggAppConfig }) => {
  const enabledGrants = new Set<string>(app.config.oAuth2Server.grants);
  return async function tokenRequest(ctx: Context, next: () => Promise<void>) {
    const { grant_type: grantType } = formParameters(ctx);
    const basic = basicCredentials(ctx.get('authorization'));
    if (basic === null) throw invalidClient();
    if (basic) {
      ctx.request.headers.authorization = `Basic ${Buffer.from(`${basic.clientId}:${basic.secret}`).toString('base64')}`;
    }
    if (grantType && !enabledGrants.has(grantType)) {
      throw new UnsupportedGrantTypeError('Unsupported grant type: `grant_type` is invalid');
    }
    await next();
  };
};
