import auth from 'basic-auth';
import type { Context } from 'egg';
import { InvalidClientError, InvalidRequestError } from 'oauth2-server';
import type { OAuthClient } from '../repository/ClientRepository';
import { TooManyRequestsError } from './errors';

/**
 * Names the first body parameter that is not a single string: RFC 6749 §3.2 forbids repeating a
 * parameter, and a repeated or nested one arrives as an array or an object.
 */
function findMalformedParameter(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const params = body as Record<string, unknown>;
  return Object.keys(params).find(name => typeof params[name] !== 'string');
}

/** The form body of a request, refused (400 invalid_request) when a parameter is repeated or nested. */
export function formParameters(ctx: Context): Record<string, string> {
  const body = ctx.request.body;
  const malformed = findMalformedParameter(body);
  if (malformed) throw new InvalidRequestError(`Invalid request: parameter \`${malformed}\` must be sent once, as a string`);
  return body && typeof body === 'object' ? body : {};
}

/** RFC 7009 §2.1, RFC 7662 §2.1: the token the request is about. */
export function requireToken(params: Record<string, string>): string {
  if (!params.token) throw new InvalidRequestError('Missing parameter: `token`');
  return params.token;
}

/** RFC 6749 §2.3.1 / RFC 3986 form decoding of one Basic credential; malformed escapes stay raw. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/**
 * The client credentials of an `Authorization: Basic` header: undefined for another scheme or no
 * header, null for a Basic header that cannot be read (bad base64, no colon, empty id or secret).
 * RFC 6749 §2.3.1: the client id and secret are form-encoded before base64 (standard client
 * libraries send `-` as `%2D`), so they are decoded here.
 */
export function basicCredentials(header: string | undefined): { clientId: string; secret: string } | null | undefined {
  if (!header || !/^basic(\s|$)/i.test(header)) return undefined;
  const parsed = auth.parse(header);
  if (!parsed || !parsed.name || !parsed.pass) return null;
  return { clientId: formDecode(parsed.name), secret: formDecode(parsed.pass) };
}

/** RFC 6749 Appendix A.1/A.2: client ids and secrets are printable ASCII (VSCHAR). */
export function isVsChar(value: string | undefined): value is string {
  return typeof value === 'string' && /^[\x20-\x7e]+$/.test(value);
}

/** The 401 for a client that sent unusable credentials (RFC 6749 §5.2). */
export function invalidClient(): InvalidClientError {
  return new InvalidClientError('Invalid client: client is invalid', { code: 401 });
}

/**
 * Client authentication for the revocation, introspection and check_token endpoints, as on the
 * token endpoint: HTTP Basic (client_secret_basic) or client_id + client_secret in the form body
 * (client_secret_post). RFC 7009 §2.1 and RFC 7662 §2.1 require it.
 */
export async function authenticateClient(ctx: Context, params: Record<string, string>): Promise<OAuthClient> {
  const { app } = ctx;
  const header = ctx.get('authorization');
  const basic = basicCredentials(header);
  const clientId = header ? basic?.clientId : params.client_id;
  const secret = header ? basic?.secret : params.client_secret;
  if (!isVsChar(clientId) || !isVsChar(secret)) throw invalidClient();
  const verified = await app.container.accounts.findVerifiedClient(clientId, secret);
  if (verified) return verified;
  // The same brute-force throttling as on the token endpoint: no endpoint is a free guessing oracle.
  const { retryAfter, reservation } = await app.loginThrottle.begin({ ip: ctx.ip, clientId });
  if (retryAfter > 0) throw new TooManyRequestsError(retryAfter);
  const client = await app.container.accounts.authenticateClient(clientId, secret);
  if (reservation) await app.loginThrottle.settle(reservation, { clientFailed: !client });
  if (!client) {
    app.audit('client_auth_failure', { clientId });
    throw invalidClient();
  }
  return client;
}
