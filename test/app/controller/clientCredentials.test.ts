import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, basic, bearer, createClient, createUser, login, tokenRequest } from '../../helpers';

const SERVICE = basic('service', CLIENT.secret);

describe('[POST /oauth/token] grant_type=client_credentials', () => {
  beforeEach(async () => {
    await createClient(app, { clientId: 'service', grants: [ 'client_credentials' ], scopes: [ 'read', 'write' ], defaultScope: [ 'read' ] });
  });

  // RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included."
  it('should 200 with an access token and no refresh token', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, SERVICE);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.access_token, /^[0-9a-f]{64}$/);
    assert.equal(res.body.refresh_token, undefined);
    assert.equal(res.body.token_type, 'Bearer');
    const [ row ] = await app.mysql.query('SELECT user_id, refresh_token_hash FROM oauth_tokens');
    assert.deepEqual(row, { user_id: null, refresh_token_hash: null });
  });

  it('should 403 on a user-only route, with a clear reason', async () => {
    const { body } = await tokenRequest(app, { grant_type: 'client_credentials' }, SERVICE);
    const me = await bearer(app, '/api/currentUser', body.access_token);
    assert.equal(me.status, 403);
    assert.equal(me.body.error, 'access_denied');
    assert.match(me.body.error_description, /client_credentials/);
    assert.equal((await bearer(app, '/api/getUser', body.access_token)).status, 403);
  });

  it('should 400 unauthorized_client for a client not registered for it', async () => {
    await createClient(app);
    const res = await tokenRequest(app, { grant_type: 'client_credentials' });
    assert.equal(res.body.error, 'unauthorized_client');
  });

  it('should 401 invalid_client with a wrong secret', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, basic('service', 'wrong'));
    assert.equal(res.status, 401);
  });
});

describe('scopes', () => {
  beforeEach(async () => {
    await createClient(app, { clientId: 'service', grants: [ 'client_credentials', 'password' ], scopes: [ 'read', 'write' ], defaultScope: [ 'read' ] });
    await createUser(app);
  });
  afterEach(mock.restore);

  it('should issue the default scope when the request names none', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, SERVICE);
    assert.equal(res.body.scope, 'read');
  });

  it('should issue all of the client\'s scopes when it has no default', async () => {
    await createClient(app, { clientId: 'nodefault', grants: [ 'client_credentials' ], scopes: [ 'read', 'write' ] });
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, basic('nodefault', CLIENT.secret));
    assert.equal(res.body.scope, 'read write');
  });

  it('should issue a requested subset of the allowed scopes, and store it on the token', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'write' }, SERVICE);
    assert.equal(res.body.scope, 'write');
    const [ row ] = await app.mysql.query('SELECT scope FROM oauth_tokens');
    assert.equal(row.scope, 'write');
  });

  it('should 400 invalid_scope for a superset of the allowed scopes', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'read write admin' }, SERVICE);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_scope');
  });

  describe('a route that demands a scope: authenticate({ scope })', () => {
    before(() => {
      app.router.get('/test/needs-write', app.oAuth2Server.authenticate({
        scope: [ 'write' ], addAcceptedScopesHeader: true, addAuthorizedScopesHeader: true,
      }), async ctx => {
        ctx.body = { ok: true };
      });
    });

    it('should 200 for a token with the scope', async () => {
      const { body } = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'read write' }, SERVICE);
      const res = await bearer(app, '/test/needs-write', body.access_token);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-accepted-oauth-scopes'], 'write');
    });

    // RFC 6750 §3.1: "insufficient_scope … The resource server SHOULD respond with the HTTP 403 (Forbidden)".
    it('should 403 insufficient_scope with the RFC 6750 challenge for a token without it', async () => {
      const { body } = await tokenRequest(app, { grant_type: 'client_credentials' }, SERVICE);
      const res = await bearer(app, '/test/needs-write', body.access_token);
      assert.equal(res.status, 403);
      assert.equal(res.body.error, 'insufficient_scope');
      assert.match(res.headers['www-authenticate'], /^Bearer realm="[^"]+",error="insufficient_scope"$/);
    });

    it('should keep roles a separate check: an admin user without the scope is refused', async () => {
      await app.container.accounts.createUser({ username: 'root', password: 'root-password', roles: [ 'admin' ] });
      const { access_token } = await login(app, SERVICE, { username: 'root', password: 'root-password', scope: 'read' });
      assert.equal((await bearer(app, '/test/needs-write', access_token)).status, 403);
      assert.equal((await bearer(app, '/api/getUser', access_token)).status, 200);
    });
  });
});
