import { Controller } from 'egg';
import { issuer as issuerOf } from '../oauth/authorize';

export default class MetadataController extends Controller {
  /** GET /.well-known/oauth-authorization-server (RFC 8414). */
  async show() {
    const { ctx, app } = this;
    const issuer = issuerOf(ctx);
    const authMethods = [ 'client_secret_basic', 'client_secret_post' ];
    // An issuer taken from the request's Host header must not be cached for other hosts' requests.
    ctx.set('Cache-Control', app.config.oauth.issuer ? 'public, max-age=300' : 'no-cache');
    ctx.body = {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: app.config.oAuth2Server.grants,
      response_types_supported: [ 'code' ],
      response_modes_supported: [ 'query' ],
      // RFC 7636: S256 only; plain is refused.
      code_challenge_methods_supported: [ 'S256' ],
      // RFC 9207: every authorization response carries iss.
      authorization_response_iss_parameter_supported: true,
      // `none`: public clients (PKCE) at the token and revocation endpoints.
      token_endpoint_auth_methods_supported: [ ...authMethods, 'none' ],
      revocation_endpoint_auth_methods_supported: [ ...authMethods, 'none' ],
      introspection_endpoint_auth_methods_supported: authMethods,
      scopes_supported: await app.container.clients.listScopes(),
    };
  }

  /**
   * GET /.well-known/jwks.json (RFC 7517 §5): the public halves of the keys that sign JWT access
   * tokens: the next key (published before it signs), the active one, and retired ones until their
   * tokens have expired. Read from the database, so every worker and host answers the same set.
   */
  async jwks() {
    const { ctx, app } = this;
    const { jwksMaxAgeSeconds } = app.config.oauth.jwt;
    ctx.set('Cache-Control', `public, max-age=${jwksMaxAgeSeconds}`);
    ctx.body = { keys: await app.container.signingKeys.publicKeys() };
  }
}
