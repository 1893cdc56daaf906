import { Controller } from 'egg';
import type { AuthorizationCode } from 'oauth2-server';
import { type AuthorizationRequest, redirectBack } from '../oauth/authorize';

export default class AuthorizeController extends Controller {
  /**
   * After the engine saved the code: back to the client with code, state and iss (RFC 6749 §4.1.2,
   * RFC 9207), the redirect URI's own query kept (the engine's URL would drop it on errors).
   */
  async redirect() {
    const { ctx } = this;
    const code: AuthorizationCode = ctx.state.oauth.code;
    const request: AuthorizationRequest = ctx.state.authorization;
    ctx.status = 302;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Location', redirectBack(ctx, request.redirectUri, { code: code.authorizationCode, state: request.state }));
    ctx.body = '';
  }
}
