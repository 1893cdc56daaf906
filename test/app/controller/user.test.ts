import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { app, mock } from 'egg-mock/bootstrap';
import { bearer, createClient, createUser, login, USER } from '../../helpers';

/** RFC 6750 §3: 401 with a Bearer challenge; error="invalid_token" when a token was sent. */
function assertInvalidToken(res: { status: number; headers: Record<string, string>; body: { error?: string } }) {
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.match(res.headers['www-authenticate'], /^Bearer realm="[^"]+",error="invalid_token"$/);
  assert.equal(res.body.error, 'invalid_token');
}

describe('[GET /api/currentUser] Bearer authentication', () => {
  let token: string;
  beforeEach(async () => {
    await createClient(app);
    await createUser(app, { roles: [] });
    token = (await login(app)).access_token;
  });
  afterEach(mock.restore);

  it('should 200 with the token\'s user and no secret', async () => {
    const res = await bearer(app, '/api/currentUser', token);
    assert.equal(res.status, 200);
    assert.equal(res.body.username, USER.username);
    assert.equal(res.body.email, USER.email);
    assert.deepEqual(res.body.roles, []);
    assert.equal(typeof res.body.id, 'number');
    assert.ok(!JSON.stringify(res.body).match(/hash|password|argon/i), JSON.stringify(res.body));
  });

  it('should accept the scheme in any case ("bearer", RFC 7235 §2.1)', async () => {
    const res = await app.httpRequest().get('/api/currentUser').set('Authorization', `bearer ${token}`);
    assert.equal(res.status, 200);
  });

  it('should 401 with a challenge without error code and a JSON body when no token is sent', async () => {
    const res = await app.httpRequest().get('/api/currentUser');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="Service"');
    assert.equal(res.body.error, 'unauthorized');
    assert.match(res.body.error_description, /Bearer/);
  });

  it('should 401 invalid_token for an unknown token', async () => {
    assertInvalidToken(await bearer(app, '/api/currentUser', 'f'.repeat(64)));
  });

  it('should 400 invalid_request for a malformed Authorization header', async () => {
    const res = await app.httpRequest().get('/api/currentUser').set('Authorization', 'Bearer not a token!');
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    assert.match(res.headers['www-authenticate'], /error="invalid_request"/);
  });

  it('should 401 invalid_token for an expired token', async () => {
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?', [ new Date(Date.now() - 1000) ]);
    const res = await bearer(app, '/api/currentUser', token);
    assertInvalidToken(res);
    assert.match(res.body.error_description, /expired/);
  });

  it('should 401 invalid_token for a revoked token', async () => {
    await app.mysql.query('UPDATE oauth_tokens SET revoked_at = ?', [ new Date() ]);
    assertInvalidToken(await bearer(app, '/api/currentUser', token));
  });

  it('should 401 invalid_token once the user is disabled', async () => {
    await app.container.accounts.setEnabled(USER.username, false);
    assertInvalidToken(await bearer(app, '/api/currentUser', token));
  });

  it('should 401 invalid_token once the client is disabled', async () => {
    await app.mysql.query('UPDATE oauth_clients SET enabled = 0');
    assertInvalidToken(await bearer(app, '/api/currentUser', token));
  });

  it('should 401 invalid_token once the client is deleted', async () => {
    await app.container.accounts.deleteClient('web_app');
    assertInvalidToken(await bearer(app, '/api/currentUser', token));
  });
});

describe('[GET /api/getUser] user list (role admin)', () => {
  beforeEach(async () => {
    await createClient(app);
  });

  it('should 403 access_denied for a user without the admin role', async () => {
    await createUser(app, { roles: [] });
    const { access_token } = await login(app);
    const res = await bearer(app, '/api/getUser', access_token);
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'access_denied');
  });

  it('should 200 with every user, without secrets, for an admin', async () => {
    await createUser(app, { roles: [ 'admin' ] });
    await createUser(app, { username: 'bob', email: 'bob@example.com' });
    const { access_token } = await login(app);
    const res = await bearer(app, '/api/getUser', access_token);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((u: { username: string }) => u.username), [ USER.username, 'bob' ]);
    assert.ok(!JSON.stringify(res.body).match(/hash|password|argon/i));
  });

  it('should 401 without a token', async () => {
    const res = await app.httpRequest().get('/api/getUser');
    assert.equal(res.status, 401);
  });
});

describe('the OAuth engine', () => {
  it('is @node-oauth/oauth2-server v5, the one egg-oauth2-server loads', async () => {
    const pluginDir = path.dirname(require.resolve('egg-oauth2-server/package.json'));
    const manifest = require.resolve('oauth2-server/package.json', { paths: [ pluginDir ] });
    const engine = JSON.parse(readFileSync(manifest, 'utf8'));
    assert.equal(engine.name, '@node-oauth/oauth2-server');
    assert.match(engine.version, /^5\./);
  });

  it('answers an invalid bearer token the v5 way (v3 sent no error="invalid_token")', async () => {
    await createClient(app);
    const res = await bearer(app, '/api/currentUser', 'a'.repeat(64));
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="Service",error="invalid_token"');
  });
});
