import { strict as assert } from 'node:assert';
import type http from 'node:http';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, closeServer, createClient, serveOnLoopback } from '../../helpers';

describe('[GET /.well-known/oauth-authorization-server] RFC 8414', () => {
  afterEach(mock.restore);

  it('should describe the endpoints, grant types, client authentication methods and scopes', async () => {
    await createClient(app, { scopes: [ 'write', 'read' ] });
    await createClient(app, { clientId: 'other', scopes: [ 'profile', 'read' ] });
    const res = await app.httpRequest().get('/.well-known/oauth-authorization-server').set('Host', 'auth.example.test');
    assert.equal(res.status, 200);
    const issuer = 'http://auth.example.test';
    assert.equal(res.headers['cache-control'], 'no-cache', 'an issuer from the Host header is not cached');
    assert.deepEqual(res.body, {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: [ 'password', 'refresh_token', 'client_credentials', 'authorization_code' ],
      response_types_supported: [ 'code' ],
      response_modes_supported: [ 'query' ],
      code_challenge_methods_supported: [ 'S256' ],
      authorization_response_iss_parameter_supported: true,
      token_endpoint_auth_methods_supported: [ 'client_secret_basic', 'client_secret_post', 'none' ],
      revocation_endpoint_auth_methods_supported: [ 'client_secret_basic', 'client_secret_post', 'none' ],
      introspection_endpoint_auth_methods_supported: [ 'client_secret_basic', 'client_secret_post' ],
      scopes_supported: [ 'profile', 'read', 'write' ],
    });
  });

  it('should use the configured issuer', async () => {
    mock(app.config.oauth, 'issuer', 'https://auth.example.com');
    const res = await app.httpRequest().get('/.well-known/oauth-authorization-server');
    assert.equal(res.body.issuer, 'https://auth.example.com');
    assert.equal(res.body.token_endpoint, 'https://auth.example.com/oauth/token');
    assert.equal(res.headers['cache-control'], 'public, max-age=300');
  });

  describe('a standard client library (oauth4webapi) configures itself from it', () => {
    let server: http.Server;
    let issuer: URL;
    before(async () => {
      const started = await serveOnLoopback(app.callback());
      server = started.server;
      issuer = new URL(started.origin);
    });
    after(() => closeServer(server));

    it('discovers, gets a client_credentials token, introspects and revokes it', async () => {
      await createClient(app, { clientId: 'service', grants: [ 'client_credentials' ], scopes: [ 'read' ] });
      const oauth = await import('oauth4webapi');
      const insecure = { [oauth.allowInsecureRequests]: true };
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
      const client = { client_id: 'service' };
      const auth = oauth.ClientSecretBasic(CLIENT.secret);

      const token = await oauth.processClientCredentialsResponse(as, client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read' }, insecure));
      assert.equal(token.token_type, 'bearer');
      assert.equal(token.scope, 'read');

      const active = await oauth.processIntrospectionResponse(as, client,
        await oauth.introspectionRequest(as, client, auth, token.access_token, insecure));
      assert.equal(active.active, true);
      assert.equal(active.client_id, 'service');

      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token.access_token, insecure));
      const revoked = await oauth.processIntrospectionResponse(as, client,
        await oauth.introspectionRequest(as, client, auth, token.access_token, insecure));
      assert.equal(revoked.active, false);
    });
  });
});

describe('[GET /.well-known/jwks.json] RFC 7517', () => {
  it('should publish the public half of every key, with kid, alg and use, cacheable for less than the publish delay', async () => {
    const keys = app.container.signingKeys;
    await keys.sign({ sub: '1' });
    await keys.rotate(new Date(), 900);
    const res = await app.httpRequest().get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    const stored = await app.mysql.query('SELECT kid FROM oauth_signing_keys ORDER BY activates_at DESC');
    assert.deepEqual(res.body.keys.map((key: { kid: string }) => key.kid), stored.map((row: { kid: string }) => row.kid), 'the next key too, before it signs');
    for (const key of res.body.keys) {
      assert.deepEqual(Object.keys(key).sort(), [ 'alg', 'crv', 'kid', 'kty', 'use', 'x', 'y' ]);
      assert.equal(key.use, 'sig');
      assert.equal(key.alg, 'ES256');
    }
    const maxAge = Number(/^public, max-age=(\d+)$/.exec(res.headers['cache-control'])?.[1]);
    assert.ok(maxAge > 0 && maxAge < app.config.oauth.jwt.publishDelaySeconds, res.headers['cache-control']);
  });

  it('should publish an empty set before the first JWT', async () => {
    const res = await app.httpRequest().get('/.well-known/jwks.json');
    assert.deepEqual(res.body, { keys: [] });
  });
});
