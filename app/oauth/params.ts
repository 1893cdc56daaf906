import type { Context } from 'egg';
import { InvalidRequestError } from 'oauth2-server';

/** Parameters that must never be in a URL, where proxies, browsers and logs keep them (RFC 6749 §3.2, RFC 6819 §5.4.3). */
const SECRET_PARAMETERS = [ 'password', 'client_secret', 'refresh_token', 'code', 'code_verifier', 'access_token', 'username' ];

/**
 * The form body of a client's request to an OAuth endpoint (RFC 6749 §3.2, RFC 7009 §2.1,
 * RFC 7662 §2.1), read once per request. Refused (400 invalid_request) when it is not
 * application/x-www-form-urlencoded (a JSON body included), when a parameter is repeated or nested
 * (it arrives as an array or an object), or when a credential is in the URL. A GET has no body.
 */
export function formParameters(ctx: Context): Record<string, string> {
  if (ctx.state.formParameters) return ctx.state.formParameters;
  const inUrl = SECRET_PARAMETERS.find(name => name in ctx.query);
  if (inUrl) throw new InvalidRequestError(`Invalid request: \`${inUrl}\` must be sent in the form body, never in the URL`);
  let params: Record<string, string> = {};
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    if (!ctx.is('application/x-www-form-urlencoded')) {
      throw new InvalidRequestError('Invalid request: content must be application/x-www-form-urlencoded');
    }
    const body: Record<string, unknown> = ctx.request.body ?? {};
    const malformed = Object.keys(body).find(name => typeof body[name] !== 'string');
    if (malformed) throw new InvalidRequestError(`Invalid request: parameter \`${malformed}\` must be sent once, as a string`);
    params = body as Record<string, string>;
  }
  ctx.state.formParameters = params;
  return params;
}

/** RFC 7009 §2.1, RFC 7662 §2.1: the token the request is about. */
export function requireToken(params: Record<string, string>): string {
  if (!params.token) throw new InvalidRequestError('Missing parameter: `token`');
  return params.token;
}
