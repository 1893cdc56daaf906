import type { Context } from 'egg';
import { OAuthError } from 'oauth2-server';
import { AccessDeniedError, InvalidRequestError } from 'oauth2-server';
import {
  type AuthorizationRequest, UnredirectableError, allowFormRedirectTo, errorRedirect, readAuthorizationRequest,
} from '../oauth/authorize';
import { signedInUser } from '../oauth/browserSession';
import type { AuthorizingUser } from '../oauth/codes';
import { consentPage, errorPage } from '../view/pages';
import { logServerError } from './errorHandler';

/**
 * GET and POST /oauth/authorize (RFC 6749 §4.1.1), ahead of the engine's authorize(): reads and
 * checks the request, sends a browser without a session to the login page, shows the consent page
 * (unless the client skips it or the user approved these scopes before), takes the user's decision,
 * and answers every error: a page when the client or redirect URI cannot be trusted, else a redirect
 * to the client with error, error_description, state and iss (§4.1.2.1).
 */
export default () => async function authorizeRequest(ctx: Context, next: () => Promise<void>) {
  try {
    const request = await readAuthorizationRequest(ctx);
    ctx.state.authorization = request;
    ctx.state.client = request.client;
    const signedIn = await signedInUser(ctx);
    if (!signedIn) {
      ctx.redirect(`/login?return_to=${encodeURIComponent(`/oauth/authorize?${new URLSearchParams(request.params)}`)}`);
      return;
    }
    const { user } = signedIn;
    const { consents } = ctx.app.container;
    if (ctx.method === 'POST') {
      const decision = ctx.request.body.decision;
      if (decision === 'deny') throw new AccessDeniedError('Access denied: the user denied access to the application');
      if (decision !== 'approve') throw new InvalidRequestError('Invalid request: `decision` must be approve or deny');
      await consents.saveConsent(user.id, request.client.id, request.scope);
    } else if (!request.client.skipConsent && !await hasConsent(ctx, user.id, request)) {
      allowFormRedirectTo(ctx, request.redirectUri);
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = consentPage({ csrf: ctx.csrf, clientId: request.client.clientId, username: user.username, scope: request.scope, params: request.params });
      return;
    }
    const authorizing: AuthorizingUser = { kind: 'user', ...user, authTime: signedIn.authTime };
    ctx.state.authorizingUser = authorizing;
    await next();
  } catch (err) {
    answer(ctx, err);
  }
};

async function hasConsent(ctx: Context, userId: number, request: AuthorizationRequest): Promise<boolean> {
  const approved = await ctx.app.container.consents.findConsentedScope(userId, request.client.id);
  return approved !== null && request.scope.every(s => approved.includes(s));
}

function answer(ctx: Context, err: unknown): void {
  ctx.set('Cache-Control', 'no-store');
  if (err instanceof UnredirectableError) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = errorPage(err.title, err.description);
    return;
  }
  const request = ctx.state.authorization as AuthorizationRequest | undefined;
  if (!(err instanceof OAuthError) || !request) throw err;
  if (err.code >= 500) logServerError(ctx, err);
  ctx.status = 302;
  ctx.set('Location', errorRedirect(ctx, request, err));
  ctx.body = '';
}
