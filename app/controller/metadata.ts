import { Controller } from 'egg';

export default class MetadataController extends Controller {
  /** GET /.well-known/oauth-authorization-server (RFC 8414). */
  async show() {
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
