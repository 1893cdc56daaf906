import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import { CLIENT, USER, basic, clientPost, createClient, createUser, login, refresh, tokenRequest, tokenStatus } from '../../helpers';

function introspect(token: string, auth?: string, hint?: string) {
  return clientPost(app, '/oauth/introspect', hint ? { token, token_type_hint: hint } : { token }, auth);
}

describe('[POST /oauth/introspect] RFC 7662', () => {
  beforeEach(async () => {
    await createClient(app, { scopes: [ 'read', 'write' ] });
    await createUser(app, { roles: [ 'admin' ] });
  });

  it('should describe an active access token', async () => {
    const before = Math.floor(Date.now() / 1000) - 1;
    const tokens = await login(app);
    const res = await introspect(tokens.access_token);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const [ user ] = await app.mysql.query('SELECT id FROM users');
    assert.equal(res.body.active, true);
    assert.equal(res.body.scope, 'read write');
    assert.equal(res.body.client_id, CLIENT.clientId);
    assert.equal(res.body.username, USER.username);
    assert.equal(res.body.sub, String(user.id));
    assert.equal(res.body.token_type, 'Bearer');
    assert.ok(res.body.iat >= before && res.body.iat <= before + 5, String(res.body.iat));
    assert.ok(Math.abs(res.body.exp - (res.body.iat + 7200)) <= 2, String(res.body.exp));
  });

  it('should describe an active refresh token', async () => {
    const tokens = await login(app);
    const res = await introspect(tokens.refresh_token, undefined, 'refresh_token');
    assert.equal(res.body.active, true);
    assert.equal(res.body.token_type, undefined, 'RFC 6749 §5.1 has no type for refresh tokens');
    assert.ok(res.body.exp > res.body.iat + 59 * 24 * 3600);
  });

  it('should describe a client_credentials token with the client as subject', async () => {
    await createClient(app, { clientId: 'service', grants: [ 'client_credentials' ] });
    const { body } = await tokenRequest(app, { grant_type: 'client_credentials' }, basic('service', CLIENT.secret));
    const res = await introspect(body.access_token, basic('service', CLIENT.secret));
    assert.equal(res.body.active, true);
    assert.equal(res.body.sub, 'service');
    assert.equal(res.body.username, undefined);
  });

  describe('inactive', () => {
    const inactive = async (token: string, auth?: string) => {
      const res = await introspect(token, auth);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { active: false });
    };

    it('for an unknown token', () => inactive('f'.repeat(64)));

    it('for an expired token', async () => {
      const tokens = await login(app);
      await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?', [ new Date(Date.now() - 1000) ]);
      await inactive(tokens.access_token);
    });

    it('for a revoked token', async () => {
      const tokens = await login(app);
      await clientPost(app, '/oauth/revoke', { token: tokens.access_token });
      await inactive(tokens.access_token);
      await inactive(tokens.refresh_token);
    });

    // Another worker or host revokes: this worker's Bearer cache may still hold the token, the
    // introspection answer must not come from it.
    it('for a token revoked elsewhere at once, while the Bearer cache still holds it', async () => {
      const tokens = await login(app);
      assert.equal(await tokenStatus(app, tokens.access_token), 200);
      await app.mysql.query('UPDATE oauth_grants SET revoked_at = NOW(3), revoke_reason = \'logout\'');
      assert.equal(await tokenStatus(app, tokens.access_token), 200, 'the precondition: the worker cache holds the token');
      await inactive(tokens.access_token);
    });

    it('for a rotated (spent) refresh token and its access token', async () => {
      const tokens = await login(app);
      await refresh(app, tokens.refresh_token);
      await inactive(tokens.refresh_token);
      await inactive(tokens.access_token);
    });

    it('for a token of a disabled user', async () => {
      const tokens = await login(app);
      await app.mysql.query('UPDATE users SET enabled = 0');
      await inactive(tokens.access_token);
    });

    it('for a token of another client (unless resource server)', async () => {
      await createClient(app, { clientId: 'other' });
      const tokens = await login(app);
      await inactive(tokens.access_token, basic('other', CLIENT.secret));
    });
  });

  it('should show a resource server the tokens of every client', async () => {
    await createClient(app, { clientId: 'api', grants: [ 'client_credentials' ], resourceServer: true });
    const tokens = await login(app);
    const res = await introspect(tokens.access_token, basic('api', CLIENT.secret));
    assert.equal(res.body.active, true);
    assert.equal(res.body.client_id, CLIENT.clientId);
  });

  it('should 401 invalid_client without valid client credentials', async () => {
    const tokens = await login(app);
    const res = await introspect(tokens.access_token, basic(CLIENT.clientId, 'wrong'));
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
    assert.equal(res.body.active, undefined);
  });

  it('should 400 invalid_request without token', async () => {
    const res = await clientPost(app, '/oauth/introspect', {});
    assert.equal(res.body.error, 'invalid_request');
  });
});
