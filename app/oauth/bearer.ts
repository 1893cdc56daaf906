import type { Application, Context } from 'egg';
import { InvalidRequestError, InvalidTokenError, OAuthError, ServerError } from 'oauth2-server';
import type { AuthenticatedToken } from './principals';

/**
 * What a protected route may ask of `app.oAuth2Server.authenticate()` beside the engine's own options
 * (`scope`): koa-jwt's options, so that a Koa service moving its token check here keeps its shape.
 */
export interface BearerOptions {
  /**
   * koa-jwt's `cookie`: the token may also come in this cookie, on safe methods only (GET, HEAD,
   * OPTIONS): a browser sends cookies with cross-site requests too, and a state change must not be
   * made by a forged one (CSRF).
   */
  cookie?: string;
  /** koa-jwt's `getToken`: finds the token somewhere else; null or undefined when it is not there. */
  getToken?: (ctx: Context) => string | null | undefined;
  /** koa-jwt's `passthrough`: a request without a valid token goes on without a user; `ctx.state.authError` says why. */
  passthrough?: boolean;
  /** Where the token's user (or client, for client_credentials) lands on ctx.state (koa-jwt's `key`; default `user`). */
  key?: string;
  /** Where the raw token lands on ctx.state (koa-jwt's `tokenKey`; not kept unless named). */
  tokenKey?: string;
  /** Why a token is refused (unknown, revoked, a disabled user…) in error descriptions; never in production. */
  debug?: boolean;
}

/** Why the token of this request was refused, for `debug` (the model notes it: the engine says only "invalid"). */
export function noteTokenProblem(ctx: Context | undefined, problem: string): void {
  if (ctx) ctx.state.tokenProblem = problem;
}

const SAFE_METHODS = [ 'GET', 'HEAD', 'OPTIONS' ];

/**
 * The token's sources besides the engine's own (the Authorization header, and `access_token` in a
 * form body): RFC 6750 §2 lets a client use one method only, so a second is 400 invalid_request (koa-jwt
 * would silently prefer one). Returns the token of the cookie or the hook, if one had it.
 */
function extraToken(ctx: Context, header: string, { cookie, getToken }: BearerOptions): string | undefined {
  const found: string[] = [];
  if (header) found.push('the Authorization header');
  let token: string | undefined;
  if (cookie && SAFE_METHODS.includes(ctx.method)) {
    const value = ctx.cookies.get(cookie, { signed: false });
    if (value) {
      found.push(`the ${cookie} cookie`);
      token = value;
    }
  }
  const hooked = getToken?.(ctx);
  if (hooked) {
    found.push('getToken');
    token = hooked;
  }
  if (found.length > 1) throw new InvalidRequestError(`Invalid request: only one authentication method is allowed (found ${found.join(' and ')})`);
  return token;
}

/**
 * RFC 7235 §2.1: the auth scheme is case-insensitive, and real clients send `bearer`; the engine only
 * matches `Bearer `. The scheme is rewritten to its canonical case before it looks.
 */
function canonicalScheme(ctx: Context, header: string): void {
  if (header && !header.startsWith('Bearer ') && /^bearer /i.test(header)) ctx.request.headers.authorization = `Bearer ${header.slice(7)}`;
}

/** Refusals a `passthrough` route lets through; a server error (a database outage) is answered as such. */
function isRefusal(err: unknown): err is OAuthError {
  return err instanceof OAuthError && !(err instanceof ServerError) && err.code < 500;
}

/**
 * Gives `app.oAuth2Server.authenticate(options)` koa-jwt's options (BearerOptions). The token is
 * still looked up in the database by the model (revoked tokens are refused at once here, whatever
 * their format); what changes is where it may come from and what a refusal does.
 */
export function addBearerOptions(app: Application): void {
  const server = app.oAuth2Server;
  const engineAuthenticate = server.authenticate.bind(server);
  // The plugin types `next` as Function; koa calls it with no argument.
  server.authenticate = ((options: BearerOptions & { scope?: string[] } = {}) => {
    const { cookie, getToken, passthrough = false, key = 'user', tokenKey, debug = false, ...engineOptions } = options;
    const authenticate = engineAuthenticate(engineOptions);
    return async function bearer(ctx: Context, next: () => Promise<void>) {
      let authenticated = false;
      try {
        const header = ctx.get('authorization');
        const token = extraToken(ctx, header, { cookie, getToken });
        if (token !== undefined) ctx.request.headers.authorization = `Bearer ${token}`;
        else canonicalScheme(ctx, header);
        await authenticate(ctx, async () => {
          authenticated = true;
          const found: AuthenticatedToken = ctx.state.oauth.token;
          ctx.state[key] = found.user;
          if (tokenKey) ctx.state[tokenKey] = found.accessToken;
          await next();
        });
      } catch (err) {
        if (authenticated) throw err;
        const explain = debug && app.config.env !== 'prod';
        const refusal = explain && err instanceof InvalidTokenError && ctx.state.tokenProblem
          ? new InvalidTokenError(`Invalid token: ${ctx.state.tokenProblem}`)
          : err;
        if (!passthrough || !isRefusal(refusal)) throw refusal;
        // The request goes on as anonymous: no challenge on what the route answers.
        ctx.remove('WWW-Authenticate');
        ctx.state.authError = refusal;
        await next();
      }
    };
  }) as typeof server.authenticate;
}
