import { Controller } from 'egg';
import { MAX_LOGIN_IDENTIFIER_LENGTH } from '../core/credentials';
import { resolveRedirectUri } from '../core/redirectUris';
import { allowFormRedirectTo } from '../oauth/authorize';
import { endBrowserSession, localPath, startBrowserSession } from '../oauth/browserSession';
import { TooManyRequestsError } from '../oauth/errors';
import { authenticateUser, failureFloor } from '../oauth/userAuth';
import { loginPage } from '../view/pages';

/** The one message for an unknown user, a wrong password and a disabled account (as invalid_grant). */
const LOGIN_FAILED = 'Wrong username or password.';

export default class LoginController extends Controller {
  /** GET /login?return_to=<local path>: the sign-in form. */
  async show() {
    const returnTo = localPath(this.ctx.query.return_to);
    await this.render(returnTo);
  }

  /**
   * POST /login: checks the username and password as the password grant does (the same throttle,
   * audit, failure timing floor and single message), then starts a new browser session and goes on
   * to `return_to` (a local path only: no open redirect).
   */
  async submit() {
    const { ctx, app } = this;
    const started = Date.now();
    const body: Record<string, unknown> = ctx.request.body ?? {};
    const returnTo = localPath(body.return_to);
    const username = typeof body.username === 'string' ? body.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const floor = () => failureFloor(ctx, started);
    if (!username || !password || username.length > MAX_LOGIN_IDENTIFIER_LENGTH || password.length > app.config.oauth.limits.maxPasswordLength) {
      await floor();
      await this.render(returnTo, { username, message: LOGIN_FAILED, status: 400 });
      return;
    }
    let user;
    try {
      user = await authenticateUser(ctx, username, password);
    } catch (err) {
      if (!(err instanceof TooManyRequestsError)) throw err;
      await floor();
      ctx.set('Retry-After', String(err.retryAfter));
      await this.render(returnTo, { username, message: `Too many failed attempts: try again in ${err.retryAfter} seconds.`, status: 429 });
      return;
    }
    if (!user) {
      await floor();
      await this.render(returnTo, { username, message: LOGIN_FAILED, status: 400 });
      return;
    }
    startBrowserSession(ctx, user);
    ctx.redirect(returnTo);
  }

  /** POST /logout: ends the browser session (tokens issued to clients live on: they log out through revocation). */
  async logout() {
    const { ctx } = this;
    endBrowserSession(ctx);
    ctx.redirect(localPath(ctx.request.body?.return_to ?? '/login'));
  }

  private async render(returnTo: string, { username = '', message = '', status = 200 } = {}) {
    const { ctx } = this;
    await this.allowRedirectOf(returnTo);
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = loginPage({ csrf: ctx.csrf, returnTo, username, message });
  }

  /**
   * When the login goes on to an authorization request, the redirects after the form may end on the
   * client's redirect URI: the CSP's form-action must allow it (when it is registered, else nothing).
   */
  private async allowRedirectOf(returnTo: string) {
    const { ctx, app } = this;
    const url = new URL(returnTo, 'http://local.invalid');
    if (url.pathname !== '/oauth/authorize') return;
    const clientId = url.searchParams.get('client_id');
    const client = clientId ? await app.container.clients.findClientByClientId(clientId) : null;
    if (!client) return;
    const redirectUri = resolveRedirectUri(client.redirectUris, url.searchParams.get('redirect_uri'));
    if (redirectUri) allowFormRedirectTo(ctx, redirectUri);
  }
}
