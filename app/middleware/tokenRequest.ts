import type { Context, EggAppConfig } from 'egg';
import { InvalidClientError, InvalidGrantError, InvalidRequestError, UnsupportedGrantTypeError } from 'oauth2-server';
import { MAX_LOGIN_IDENTIFIER_LENGTH } from '../core/credentials';
import { TooManyRequestsError } from '../oauth/errors';
import { formParameters } from '../oauth/params';
import { failureFloor } from '../oauth/userAuth';

/** The failures whose timing could tell an attacker something (which user exists, which hash, a lock). */
function isCredentialFailure(err: unknown): boolean {
  return err instanceof InvalidClientError || err instanceof InvalidGrantError || err instanceof TooManyRequestsError;
}

/**
 * The first step of the token endpoint (RFC 6749 §3.2), before anything costly runs: POST only, a
 * form body without repeated or nested parameters and with no credential in the URL, a username (or
 * e-mail address) and password of sane length (a megabyte password must not cost a megabyte of hashing), and a grant type
 * this server runs (config.oAuth2Server.grants). Then it times what follows: every failed or
 * throttled answer takes at least `oauth.minFailureMs` (failureFloor).
 */
export default (_options: unknown, app: { config: EggAppConfig }) => {
  const enabledGrants = new Set<string>(app.config.oAuth2Server.grants);
  const { maxPasswordLength } = app.config.oauth.limits;
  return async function tokenRequest(ctx: Context, next: () => Promise<void>) {
    if (ctx.method !== 'POST') throw new InvalidRequestError('Invalid request: method must be POST');
    const { grant_type: grantType, username, password } = formParameters(ctx);
    if (username !== undefined && username.length > MAX_LOGIN_IDENTIFIER_LENGTH) {
      throw new InvalidRequestError(`Invalid parameter: \`username\` is longer than ${MAX_LOGIN_IDENTIFIER_LENGTH} characters`);
    }
    if (password !== undefined && password.length > maxPasswordLength) {
      throw new InvalidRequestError(`Invalid parameter: \`password\` is longer than ${maxPasswordLength} characters`);
    }
    if (grantType && !enabledGrants.has(grantType)) {
      throw new UnsupportedGrantTypeError('Unsupported grant type: `grant_type` is invalid');
    }
    const started = Date.now();
    try {
      await next();
      if (ctx.status === 200) ctx.app.metrics.tokensIssued.inc({ grant_type: grantType });
    } catch (err) {
      if (isCredentialFailure(err)) await failureFloor(ctx, started);
      throw err;
    }
  };
};
