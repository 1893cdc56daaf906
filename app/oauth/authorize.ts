import type { Context } from 'egg';
import { InvalidRequestError, InvalidScopeError, OAuthError, UnsupportedResponseTypeError } from 'oauth2-server';
import { mayRequestResource, resolveRedirectUri } from '../core/redirectUris';
import type { OAuthClient } from '../repository/ClientRepository';
import { splitList } from '../repository/columns';
import { InvalidTargetError } from './errors';

/** The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2). */
const AUTHORIZE_PARAMETERS = [ 'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'resource' ];

/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * An authorization request that cannot be sent back to the client, because the client or the
 * redirect URI cannot be trusted (RFC 6749 §4.1.2.1): shown to the user as a page, never redirected.
 */
export class UnredirectableError extends Error {
  constructor(readonly title: string, readonly description: string) {
    super(description);
  }
}

export interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  state?: string;
  scope: string[];
  codeChallenge?: string;
  resource?: string;
  /** The request's own parameters, as the consent form sends them again. */
  params: Record<string, string>;
}

/** The query (GET) or form (POST) parameters of the request, each at most once. */
function parameters(ctx: Context): Record<string, string> {
  const source: Record<string, unknown> = ctx.method === 'POST' ? ctx.request.body ?? {} : ctx.query;
  const params: Record<string, string> = {};
  for (const name of AUTHORIZE_PARAMETERS) {
    const value = source[name];
    if (value === undefined || value === '') continue;
    // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
    if (typeof value !== 'string') throw new InvalidRequestError(`Invalid request: \`${name}\` must be sent once`);
    params[name] = value;
  }
  return params;
}

/**
 * Reads and checks an authorization request. The client and the redirect URI first: when either is
 * wrong, the error is an UnredirectableError (a page). Every later error is an OAuthError that goes
 * back to the redirect URI (see errorRedirect); the request read so far is then in ctx.state.authorization.
 */
export async function readAuthorizationRequest(ctx: Context): Promise<AuthorizationRequest> {
  let params: Record<string, string>;
  try {
    params = parameters(ctx);
  } catch {
    throw new UnredirectableError('Invalid request', 'A parameter of this authorization request was sent more than once.');
  }
  const client = params.client_id ? await ctx.app.container.clients.findClientByClientId(params.client_id) : null;
  if (!client?.enabled || !client.grants.includes('authorization_code')) {
    throw new UnredirectableError('Unknown application', 'The application that sent you here is not known to this server.');
  }
  const redirectUri = resolveRedirectUri(client.redirectUris, params.redirect_uri);
  if (redirectUri === null) {
    throw new UnredirectableError('Invalid request', params.redirect_uri === undefined
      ? 'The application did not say where to send you back (redirect_uri).'
      : 'The address the application asked to send you back to is not registered for it.');
  }
  const partial = { client, redirectUri, state: params.state, params };
  ctx.state.authorization = partial;

  if (params.response_type !== 'code') {
    throw new UnsupportedResponseTypeError('Unsupported response type: `response_type` must be `code`');
  }
  const method = params.code_challenge_method;
  if (method !== undefined && method !== 'S256') {
    throw new InvalidRequestError('Invalid parameter: `code_challenge_method` must be `S256`');
  }
  const codeChallenge = params.code_challenge;
  if (codeChallenge === undefined) {
    // RFC 9700 §2.1.1: public clients MUST use PKCE.
    if (client.secretHash === null) throw new InvalidRequestError('Missing parameter: `code_challenge` (PKCE with S256 is required for a public client)');
    if (method !== undefined) throw new InvalidRequestError('Missing parameter: `code_challenge`');
  } else if (method === undefined) {
    // RFC 7636 §4.3: the method defaults to plain, which this server refuses.
    throw new InvalidRequestError('Missing parameter: `code_challenge_method` must be `S256`');
  } else if (!S256_CHALLENGE.test(codeChallenge)) {
    throw new InvalidRequestError('Invalid parameter: `code_challenge` is not an S256 challenge');
  }
  const requested = splitList(params.scope);
  if (requested.some(s => !client.scopes.includes(s))) throw new InvalidScopeError('Invalid scope: Requested scope is invalid');
  const scope = requested.length > 0 ? requested : client.defaultScope ?? client.scopes;
  const resource = params.resource;
  if (resource !== undefined && !mayRequestResource(client, resource)) {
    throw new InvalidTargetError('Invalid target: the client may not ask for this resource');
  }
  return { ...partial, scope, codeChallenge, resource };
}

/** This server's issuer (RFC 8414 §2), sent back as `iss` (RFC 9207). */
export function issuer(ctx: Context): string {
  return ctx.app.config.oauth.issuer || ctx.origin;
}

/**
 * The client's redirect URI with these parameters added to its own query (RFC 6749 §4.1.2: "the
 * authorization server MUST retain the query component"), and `iss` (RFC 9207 §2).
 */
export function redirectBack(ctx: Context, redirectUri: string, values: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [ name, value ] of Object.entries({ ...values, iss: issuer(ctx) })) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.href;
}

/** The redirect for an error of a request whose client and redirect URI are trusted (RFC 6749 §4.1.2.1). */
export function errorRedirect(ctx: Context, request: Pick<AuthorizationRequest, 'redirectUri' | 'state'>, err: OAuthError): string {
  return redirectBack(ctx, request.redirectUri, { error: err.name, error_description: err.message, state: request.state });
}

/**
 * Lets this page's forms lead to `redirectUri`: Chromium applies the CSP's form-action to the
 * redirects that follow a form POST, so a login or consent that ends on the client's redirect URI
 * (another origin) needs that origin beside 'self'.
 */
export function allowFormRedirectTo(ctx: Context, redirectUri: string): void {
  ctx.state.formActionOrigin = new URL(redirectUri).origin;
}

/** The engine's authenticate handler of the authorize step: the user the browser session signed in. */
export const sessionUser = {
  handle(request: { ctx?: Context }) {
    return request.ctx?.state.authorizingUser;
  },
};
