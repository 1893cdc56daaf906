import { Controller } from 'egg';
import { InvalidRequestError, UnauthorizedClientError } from 'oauth2-server';
import { authenticateClient, formParameters } from '../oauth/clientAuth';
import { NO_STORE } from '../oauth/errors';
import { type FoundToken, expiresAt, findToken, isActive } from '../oauth/tokenState';
import type { OAuthClient } from '../repository/ClientRepository';


function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** RFC 7662 §4 / our policy: a client sees its own tokens; a resource server sees every token. */
function visibleTo(client: OAuthClient, found: FoundToken): boolean {
  return client.resourceServer || found.record.client.id === client.id;
}

function requireToken(params: Record<string, string>): string {
  if (!params.token) throw new InvalidRequestError('Missing parameter: `token`');
  return params.token;
}

export default class OAuthController extends Controller {
  /**
   * POST /oauth/revoke (RFC 7009). Revoking an access or a refresh token revokes its whole grant:
   * this is logout. Unknown and already revoked tokens still get 200 (§2.2).
   */
  async revoke() {
    const { ctx, app } = this;
    const params = formParameters(ctx);
    const client = await authenticateClient(ctx, params);
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

  /** POST /oauth/introspect (RFC 7662). */
  async introspect() {
    const { ctx, app } = this;
    const params = formParameters(ctx);
    const client = await authenticateClient(ctx, params);
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
    };
  }

  /**
   * GET /oauth/check_token?token= in the shape of Spring Security OAuth2's CheckTokenEndpoint, for
   * resource servers migrating from it. Unlike it, a disabled user's token is not valid.
   */
  async checkToken() {
    const { ctx, app } = this;
    const params = ctx.method === 'POST' ? formParameters(ctx) : {};
    const client = await authenticateClient(ctx, params);
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

  /** GET /.well-known/oauth-authorization-server (RFC 8414). */
  async metadata() {
    const { ctx, app } = this;
    const issuer = app.config.oauth.issuer || ctx.origin;
    const authMethods = [ 'client_secret_basic', 'client_secret_post' ];
    // An issuer taken from the request's Host header must not be cached for other hosts' requests.
    ctx.set('Cache-Control', app.config.oauth.issuer ? 'public, max-age=300' : 'no-cache');
    ctx.body = {
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      grant_types_supported: app.config.oAuth2Server.grants,
      // No authorization endpoint (yet): no response type.
      response_types_supported: [],
      token_endpoint_auth_methods_supported: authMethods,
      revocation_endpoint_auth_methods_supported: authMethods,
      introspection_endpoint_auth_methods_supported: authMethods,
      scopes_supported: await app.container.clients.listScopes(),
    };
  }
}
