import type { Context, EggAppConfig } from 'egg';
import { InvalidRequestError, UnsupportedGrantTypeError } from 'oauth2-server';
import { handleOAuthError } from '../lib/errors';

/**
 * Checks a token request before the engine sees it (RFC 6749 §3.2: parameters must not be included
 * more than once; a repeated or nested parameter arrives as an array or object), and refuses grant
 * types this server does not run (config.oAuth2Server.grants).
 */
export default (_options: unknown, app: { config: EggAppConfig }) => {
  const enabledGrants = new Set<string>(app.config.oAuth2Server.grants);
  return async function tokenRequest(ctx: Context, next: () => Promise<void>) {
    const body: Record<string, unknown> = ctx.request.body && typeof ctx.request.body === 'object' ? ctx.request.body : {};
    const repeated = Object.keys(body).find(name => typeof body[name] !== 'string');
    if (repeated) {
      handleOAuthError(ctx, new InvalidRequestError(`Invalid request: parameter \`${repeated}\` must be sent once, as a string`));
      return;
    }
    const grantType = body.grant_type;
    if (typeof grantType === 'string' && grantType && !enabledGrants.has(grantType)) {
      handleOAuthError(ctx, new UnsupportedGrantTypeError('Unsupported grant type: `grant_type` is invalid'));
      return;
    }
    await next();
  };
};
