import { Controller } from 'egg';
import { formParameters } from '../oauth/params';
import { NO_STORE } from '../oauth/errors';
import { epochSeconds, findToken, isActive, visibleTo } from '../oauth/tokenState';
import type { OAuthClient } from '../repository/ClientRepository';

export default class CheckTokenController extends Controller {
  /**
   * GET /oauth/check_token?token= in the shape of Spring Security OAuth2's CheckTokenEndpoint, for
   * resource servers migrating from it. Unlike it, a disabled user's token is not valid.
   */
  async check() {
    const { ctx, app } = this;
    const params = formParameters(ctx);
    const client: OAuthClient = ctx.state.client;
    const token = ctx.method === 'POST' ? params.token ?? '' : typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const found = token ? await findToken(app.container.tokens, token, 'access_token') : null;
    ctx.set(NO_STORE);
    if (!found || found.kind !== 'access_token' || !visibleTo(client, found) || !isActive(found)) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_token', error_description: 'Token was not recognised' };
      return;
    }
    const { record } = found;
    ctx.body = {
      active: true,
      exp: epochSeconds(record.accessTokenExpiresAt),
      user_name: record.user?.username,
      // Spring's convention: roles as ROLE_* authorities.
      authorities: (record.user?.roles ?? []).map(role => `ROLE_${role.toUpperCase()}`),
      client_id: record.client.clientId,
      scope: record.scope,
    };
  }
}
