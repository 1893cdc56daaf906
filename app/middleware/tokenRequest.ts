import type { Context, EggAppConfig } from 'egg';
import { InvalidRequestError, UnsupportedGrantTypeError } from 'oauth2-server';
import { basicCredentials, formParameters, invalidClient } from '../oauth/clientAuth';

/** Parameters that must never be in a URL, where proxies, browsers and logs keep them (RFC 6749 §3.2, RFC 6819 §5.4.3). */
const SECRET_PARAMETERS = [ 'password', 'client_secret', 'refresh_token', 'code', 'code_verifier', 'access_token', 'username' ];

/**
 * Checks a token request before anything costly runs: no credentials in the query string, no
 * repeated or nested parameter (RFC 6749 §3.2), a username and password of sane length (a megabyte
 * password must not cost a megabyte of hashing), a readable Basic header (else 401 invalid_client,
 * §5.2), and only grant types this server runs (config.oAuth2Server.grants). Hands the engine the
 * form-decoded Basic credentials (§2.3.1). Errors go to errorHandler.
 */
export default (_options: unknown, app: { config: EggAppConfig }) => {
  const enabledGrants = new Set<string>(app.config.oAuth2Server.grants);
  const { maxUsernameLength, maxPasswordLength } = app.config.oauth.limits;
  return async function tokenRequest(ctx: Context, next: () => Promise<void>) {
    const inUrl = SECRET_PARAMETERS.find(name => name in ctx.query);
    if (inUrl) throw new InvalidRequestError(`Invalid request: \`${inUrl}\` must be sent in the form body, never in the URL`);
    const { grant_type: grantType, username, password } = formParameters(ctx);
    if (username !== undefined && username.length > maxUsernameLength) {
      throw new InvalidRequestError(`Invalid parameter: \`username\` is longer than ${maxUsernameLength} characters`);
    }
    if (password !== undefined && password.length > maxPasswordLength) {
      throw new InvalidRequestError(`Invalid parameter: \`password\` is longer than ${maxPasswordLength} characters`);
    }
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
