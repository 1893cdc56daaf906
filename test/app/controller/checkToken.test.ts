import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, USER, basic, clientPost, createClient, createUser, login, tokenStatus } from '../../helpers';

function checkToken(token: string, auth = basic(CLIENT.clientId, CLIENT.secret)) {
  return app.httpRequest().get('/oauth/check_token').query({ token })
    .set('Authorization', auth);
}

describe('[GET /oauth/check_token] Spring Security OAuth2 shape', () => {
  beforeEach(async () => {
    await createClient(app, { scopes: [ 'read', 'write' ] });
    await createUser(app, { roles: [ 'admin', 'user' ] });
  });
  afterEach(mock.restore);

  it('should answer exp, user_name, authorities, client_id, scope (array) and active', async () => {
    const tokens = await login(app);
    const res = await checkToken(tokens.access_token);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), [ 'active', 'authorities', 'client_id', 'exp', 'scope', 'user_name' ]);
    assert.equal(res.body.active, true);
    assert.equal(res.body.user_name, USER.username);
    assert.deepEqual(res.body.authorities, [ 'ROLE_ADMIN', 'ROLE_USER' ]);
    assert.equal(res.body.client_id, CLIENT.clientId);
    assert.deepEqual(res.body.scope, [ 'read', 'write' ]);
    assert.ok(Math.abs(res.body.exp - (Date.now() / 1000 + 7200)) < 5);
  });

  it('should refuse a token revoked elsewhere at once, while the Bearer cache still holds it', async () => {
    const tokens = await login(app);
    assert.equal(await tokenStatus(app, tokens.access_token), 200);
    await app.mysql.query('UPDATE oauth_grants SET revoked_at = NOW(3), revoke_reason = \'logout\'');
    assert.equal(await tokenStatus(app, tokens.access_token), 200, 'the precondition: the worker cache holds the token');
    const res = await checkToken(tokens.access_token);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_token');
  });

  it('should answer a form POST too, as Spring\'s RemoteTokenServices sends it', async () => {
    const tokens = await login(app);
    const res = await clientPost(app, '/oauth/check_token', { token: tokens.access_token });
    assert.equal(res.status, 200);
    assert.equal(res.body.user_name, USER.username);
  });

  it('should 400 invalid_token for a disabled user\'s token (Spring would still say valid)', async () => {
    const tokens = await login(app);
    await app.container.accounts.setEnabled(USER.username, false);
    const res = await checkToken(tokens.access_token);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_token');
  });

  it('should 400 invalid_token for an unknown, an expired token and a refresh token', async () => {
    const tokens = await login(app);
    assert.equal((await checkToken('f'.repeat(64))).status, 400);
    assert.equal((await checkToken(tokens.refresh_token)).status, 400);
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?', [ new Date(Date.now() - 1000) ]);
    assert.equal((await checkToken(tokens.access_token)).status, 400);
  });

  it('should 401 without client credentials', async () => {
    const tokens = await login(app);
    const res = await app.httpRequest().get('/oauth/check_token').query({ token: tokens.access_token });
    assert.equal(res.status, 401);
  });

  it('should keep the token of the query string out of the logs', async () => {
    const tokens = await login(app);
    // A failure makes the request write a log line, which names the request.
    mock(app.container.tokens, 'findTokenByAccessTokenHash', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    app.mockLog('errorLogger');
    const res = await checkToken(tokens.access_token);
    assert.equal(res.status, 503);
    app.expectLog('GET /oauth/check_token]', 'errorLogger');
    app.notExpectLog(tokens.access_token, 'errorLogger');
  });
});
