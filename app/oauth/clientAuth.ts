import auth from 'basic-auth';
import type { Context } from 'egg';
import { InvalidRequestError } from 'oauth2-server';
import { CLIENT_ID_PATTERN, CLIENT_SECRET_PATTERN } from '../core/credentials';
import type { OAuthClient } from '../repository/ClientRepository';
import { TooManyRequestsError, invalidClient } from './errors';
import { formParameters } from './params';

/** A client's credentials, by how it proves who it is (RFC 8414 token_endpoint_auth_methods_supported). */
type ClientCredentials =
  | { clientId: string; secret: string; method: 'client_secret_basic' | 'client_secret_post' }
  /** A public client names itself and proves nothing (RFC 6749 §2.1); PKCE or its refresh token does. */
  | { clientId: string; method: 'none' };

/** RFC 6749 §2.3.1 / RFC 3986 form decoding of one Basic credential; malformed escapes stay raw. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/**
 * The client credentials of the request (RFC 6749 §2.3.1): HTTP Basic (client_secret_basic), or
 * client_id and client_secret in the form body (client_secret_post), never both (§2.3: "MUST NOT use
 * more than one authentication method in each request": 400 invalid_request), or client_id alone
 * (none: a public client). The id and secret of a Basic header are form-encoded before base64
 * (standard client libraries send `-` as `%2D`), so they are decoded here. Unreadable or missing
 * credentials, and ids or secrets that are not VSCHAR (Appendix A.1, A.2), are refused with 401
 * invalid_client before any lookup.
 */
function readClientCredentials(ctx: Context, params: Record<string, string>): ClientCredentials {
  const header = ctx.get('authorization');
  let credentials: ClientCredentials | undefined;
  if (/^basic(\s|$)/i.test(header)) {
    const parsed = auth.parse(header);
    if (!parsed?.name || !parsed.pass) throw invalidClient();
    credentials = { clientId: formDecode(parsed.name), secret: formDecode(parsed.pass), method: 'client_secret_basic' };
    if (params.client_secret !== undefined || (params.client_id !== undefined && params.client_id !== credentials.clientId)) {
      throw new InvalidRequestError('Invalid request: the client must authenticate with one method only, HTTP Basic or client_secret in the body');
    }
  } else if (params.client_id !== undefined && params.client_secret !== undefined) {
    credentials = { clientId: params.client_id, secret: params.client_secret, method: 'client_secret_post' };
  } else if (params.client_id !== undefined) {
    credentials = { clientId: params.client_id, method: 'none' };
  }
  if (!credentials || !CLIENT_ID_PATTERN.test(credentials.clientId)
    || (credentials.method !== 'none' && !CLIENT_SECRET_PATTERN.test(credentials.secret))) {
    throw invalidClient();
  }
  return credentials;
}

/**
 * Client authentication for every client-authenticating endpoint (token, revocation, introspection,
 * check_token; RFC 6749 §2.3, RFC 7009 §2.1, RFC 7662 §2.1): once per request, its result kept in
 * ctx.state.client. A secret this worker has already seen verified skips hashing and throttling (no
 * guess can get through there); any other attempt is counted by the brute-force throttle before the
 * secret is checked, so that no endpoint is a free guessing oracle. A public client (no secret) is
 * accepted where `allowPublic` says so; a confidential client must always prove its secret.
 */
export async function authenticateClient(ctx: Context, { allowPublic = false } = {}): Promise<OAuthClient> {
  if (ctx.state.client) return ctx.state.client;
  const { app } = ctx;
  const { credentials: checker } = app.container;
  const credentials = readClientCredentials(ctx, formParameters(ctx));
  if (credentials.method === 'none') {
    const client = allowPublic ? await checker.findPublicClient(credentials.clientId) : null;
    if (!client) throw invalidClient();
    ctx.state.client = client;
    return client;
  }
  const { clientId, secret } = credentials;
  let client = await checker.findVerifiedClient(clientId, secret);
  if (!client) {
    const { retryAfter, reservation } = await app.loginThrottle.begin({ ip: ctx.ip, clientId });
    if (retryAfter > 0) {
      app.audit('throttled', { clientId, retryAfter });
      throw new TooManyRequestsError(retryAfter);
    }
    try {
      client = await checker.authenticateClient(clientId, secret);
    } catch (err) {
      // Not a failed guess: the count goes back (or expires, should the database be gone).
      if (reservation) await app.loginThrottle.settle(reservation, {}).catch(() => undefined);
      throw err;
    }
    if (reservation) await app.loginThrottle.settle(reservation, { clientFailed: !client });
    if (!client) {
      app.audit('client_auth_failure', { clientId });
      throw invalidClient();
    }
  }
  ctx.state.client = client;
  return client;
}
