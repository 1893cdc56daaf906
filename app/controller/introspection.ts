import { Controller } from 'egg';
import { formParameters, requireToken } from '../oauth/params';
import { NO_STORE } from '../oauth/errors';
import { epochSeconds, expiresAt, findToken, isActive, visibleTo } from '../oauth/tokenState';
import type { OAuthClient } from '../repository/ClientRepository';

export default class IntrospectionController extends Controller {
  /** POST /oauth/introspect (RFC 7662). */
  async introspect() {
    const { ctx, app } = this;
    const params = formParameters(ctx);
    const client: OAuthClient = ctx.state.client;
    const found = await findToken(app.container.tokens, requireToken(params), params.token_type_hint);
    ctx.set(NO_STORE);
    if (!found || !visibleTo(client, found) || !isActive(found)) {
      ctx.body = { active: false };
      return;
    }
    const { record } = found;
    ctx.body = {
      active: true,
      scope: record.scope.length > 0 ? record.scope.join(' ') : undefined,
      client_id: record.client.clientId,
      username: record.user?.username,
      sub: record.user ? String(record.user.id) : record.client.clientId,
      // RFC 7662 §2.2 takes token_type from RFC 6749 §5.1 (Bearer): a refresh token has none.
      token_type: found.kind === 'access_token' ? 'Bearer' : undefined,
      exp: epochSeconds(expiresAt(found) as Date),
      iat: epochSeconds(record.issuedAt),
      // RFC 7662 §2.2, RFC 8707: the audience the token was issued for.
      aud: record.audience ?? undefined,
    };
  }
}
