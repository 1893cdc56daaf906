import { Controller } from 'egg';
import { UnauthorizedClientError } from 'oauth2-server';
import { formParameters, requireToken } from '../oauth/params';
import { NO_STORE } from '../oauth/errors';
import { findToken } from '../oauth/tokenState';
import type { OAuthClient } from '../repository/ClientRepository';

export default class RevocationController extends Controller {
  /**
   * POST /oauth/revoke (RFC 7009). Revoking an access or a refresh token revokes its whole grant:
   * this is logout. Unknown and already revoked tokens still get 200 (§2.2).
   */
  async revoke() {
    const { ctx, app } = this;
    const params = formParameters(ctx);
    const client: OAuthClient = ctx.state.client;
    const found = await findToken(app.container.tokens, requireToken(params), params.token_type_hint);
    if (found) {
      // §2.1: the server verifies that the token was issued to the client asking.
      if (found.record.client.id !== client.id) {
        throw new UnauthorizedClientError('Unauthorized client: the token was issued to another client');
      }
      await app.container.grants.revokeGrant(found.record.grantId, 'logout', new Date());
      app.audit('revocation', { clientId: client.clientId, userId: found.record.user?.id ?? null, grantId: found.record.grantId });
    }
    ctx.set(NO_STORE);
    ctx.status = 200;
    ctx.body = '';
  }
}
