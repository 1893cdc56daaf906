import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import qs from 'qs';
import { CLIENT, USER, basic, createClient, createUser, tokenRequest } from '../../helpers';

const PASSWORD_GRANT = { grant_type: 'password', username: USER.username, password: USER.password };

function assertOAuthError(res: { status: number; body: { error?: string; error_description?: string } }, status: number, error: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, error);
  assert.equal(typeof res.body.error_description, 'string');
}

describe('[POST /oauth/token] grant_type=password', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });
  afterEach(mock.restore);

  describe('success', () => {
    // RFC 6749 §5.1: "access_token REQUIRED … token_type REQUIRED … expires_in RECOMMENDED …
    // The authorization server MUST include the HTTP "Cache-Control" response header field with a value of "no-store"".
    it('should 200 with a bearer token when the client authenticates with HTTP Basic', async () => {
      const res = await tokenRequest(app, PASSWORD_GRANT);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.access_token, /^[0-9a-f]{64}$/);
      assert.match(res.body.refresh_token, /^[0-9a-f]{64}$/);
      assert.notEqual(res.body.access_token, res.body.refresh_token);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.expires_in, 7200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.pragma, 'no-cache');
    });

    it('should 200 when the client sends client_id and client_secret in the body', async () => {
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, client_id: CLIENT.clientId, client_secret: CLIENT.secret }, '');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.access_token, /^[0-9a-f]{64}$/);
    });

    it('should 200 on /api/user/token for the browser front end (qs.stringify body, Basic header)', async () => {
      // Exactly what the original front end sends: fakeAccountLogin() in the egg-oauth2-server walkthrough.
      const res = await app.httpRequest()
        .post('/api/user/token')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
        .send(qs.stringify({ username: USER.username, password: USER.password, grant_type: 'password' }));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const me = await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${res.body.access_token}`);
      assert.equal(me.status, 200);
      assert.equal(me.body.username, USER.username);
    });

    it('should keep the first login working after a second login (one token per device)', async () => {
      const first = await tokenRequest(app, PASSWORD_GRANT);
      const second = await tokenRequest(app, PASSWORD_GRANT);
      assert.notEqual(first.body.access_token, second.body.access_token);
      for (const token of [ first.body.access_token, second.body.access_token ]) {
        const me = await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${token}`);
        assert.equal(me.status, 200);
      }
    });

    it('should use the client\'s own access token lifetime', async () => {
      await createClient(app, { clientId: 'short_lived', accessTokenLifetime: 60 });
      const res = await tokenRequest(app, PASSWORD_GRANT, basic('short_lived', CLIENT.secret));
      assert.equal(res.status, 200);
      assert.equal(res.body.expires_in, 60);
    });

    // RFC 6749 §5.1: "expires_in: The lifetime in seconds of the access token" — not the time left
    // after the save, floored.
    it('should answer expires_in equal to the token\'s lifetime, even a 2 s one', async () => {
      await createClient(app, { clientId: 'brief', accessTokenLifetime: 2 });
      const res = await tokenRequest(app, PASSWORD_GRANT, basic('brief', CLIENT.secret));
      assert.equal(res.body.expires_in, 2);
    });

    it('should issue a requested scope within the client\'s scopes and echo it', async () => {
      await createClient(app, { clientId: 'scoped', scopes: [ 'read', 'write' ] });
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, scope: 'read' }, basic('scoped', CLIENT.secret));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.scope, 'read');
    });

    it('should not log client errors (a flood of bad logins must not fill the error log)', async () => {
      const loggers = [ 'logger', 'coreLogger', 'errorLogger' ];
      for (const logger of loggers) app.mockLog(logger);
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, password: 'wrong password' });
      assert.equal(res.status, 400);
      await tokenRequest(app, PASSWORD_GRANT, basic(CLIENT.clientId, 'wrong'));
      for (const logger of loggers) app.notExpectLog(/invalid_grant|invalid_client/, logger);
    });
  });

  describe('client errors (RFC 6749 §5.2)', () => {
    it('should 401 invalid_client with WWW-Authenticate: Basic when the secret is wrong', async () => {
      const res = await tokenRequest(app, PASSWORD_GRANT, basic(CLIENT.clientId, 'not-the-secret'));
      assertOAuthError(res, 401, 'invalid_client');
      assert.match(res.headers['www-authenticate'], /^Basic realm="/);
    });

    it('should 401 invalid_client when the client is unknown', async () => {
      const res = await tokenRequest(app, PASSWORD_GRANT, basic('nobody', CLIENT.secret));
      assertOAuthError(res, 401, 'invalid_client');
    });

    it('should 401 invalid_client when the client is disabled', async () => {
      await app.mysql.query('UPDATE oauth_clients SET enabled = 0 WHERE client_id = ?', [ CLIENT.clientId ]);
      const res = await tokenRequest(app, PASSWORD_GRANT);
      assertOAuthError(res, 401, 'invalid_client');
    });

    it('should 401 invalid_client with a Basic challenge when the client sends no credentials at all', async () => {
      const res = await tokenRequest(app, PASSWORD_GRANT, '');
      assertOAuthError(res, 401, 'invalid_client');
      assert.match(res.headers['www-authenticate'], /^Basic realm=/);
    });

    it('should 400 invalid_request when the client authenticates with two methods (RFC 6749 §2.3)', async () => {
      const withSecret = await tokenRequest(app, { ...PASSWORD_GRANT, client_secret: CLIENT.secret });
      assertOAuthError(withSecret, 400, 'invalid_request');
      const otherId = await tokenRequest(app, { ...PASSWORD_GRANT, client_id: 'someone_else' });
      assertOAuthError(otherId, 400, 'invalid_request');
      // The same client_id beside Basic is not a second method.
      assert.equal((await tokenRequest(app, { ...PASSWORD_GRANT, client_id: CLIENT.clientId })).status, 200);
    });

    it('should 401 invalid_client with WWW-Authenticate for a malformed Basic header', async () => {
      const malformed = [
        'Basic !!!not-base64!!!',
        `Basic ${Buffer.from('no-colon').toString('base64')}`,
        `Basic ${Buffer.from(`${CLIENT.clientId}:`).toString('base64')}`,
        'Basic',
        'basic',
      ];
      for (const header of malformed) {
        const res = await tokenRequest(app, PASSWORD_GRANT, header);
        assertOAuthError(res, 401, 'invalid_client');
        assert.match(res.headers['www-authenticate'], /^Basic realm="/, header);
      }
    });

    it('should form-decode Basic credentials (RFC 6749 §2.3.1), as standard client libraries encode them', async () => {
      await createClient(app, { clientId: 'odd.id', secret: 'a secret+with%special/chars' });
      const encoded = `${encodeURIComponent('odd.id')}:${encodeURIComponent('a secret+with%special/chars')}`;
      const res = await tokenRequest(app, PASSWORD_GRANT, `Basic ${Buffer.from(encoded).toString('base64')}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });

    it('should 401 invalid_client for a wrong secret in the body', async () => {
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, client_id: CLIENT.clientId, client_secret: 'wrong' }, '');
      assertOAuthError(res, 401, 'invalid_client');
    });

    it('should 400 unauthorized_client when the client may not use the password grant', async () => {
      await createClient(app, { clientId: 'machine', grants: [ 'client_credentials' ] });
      const res = await tokenRequest(app, PASSWORD_GRANT, basic('machine', CLIENT.secret));
      assertOAuthError(res, 400, 'unauthorized_client');
    });

    it('should 400 invalid_scope for a scope outside the client\'s scopes', async () => {
      await createClient(app, { clientId: 'scoped', scopes: [ 'read' ] });
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, scope: 'read admin' }, basic('scoped', CLIENT.secret));
      assertOAuthError(res, 400, 'invalid_scope');
    });
  });

  describe('request errors', () => {
    it('should 400 invalid_request without grant_type', async () => {
      const res = await tokenRequest(app, { username: USER.username, password: USER.password });
      assertOAuthError(res, 400, 'invalid_request');
    });

    it('should 400 unsupported_grant_type for an unknown grant type', async () => {
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, grant_type: 'magic' });
      assertOAuthError(res, 400, 'unsupported_grant_type');
    });

    it('should 400 unsupported_grant_type for a grant this server does not run (device_code)', async () => {
      const res = await tokenRequest(app, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'a'.repeat(64) });
      assertOAuthError(res, 400, 'unsupported_grant_type');
    });

    it('should 400 invalid_request when a parameter is repeated', async () => {
      const res = await app.httpRequest()
        .post('/oauth/token')
        .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(`grant_type=password&grant_type=client_credentials&username=${USER.username}&password=x`);
      assertOAuthError(res, 400, 'invalid_request');
      assert.match(res.body.error_description, /grant_type/);
    });

    it('should 400 invalid_request for a nested parameter', async () => {
      const res = await tokenRequest(app, { ...PASSWORD_GRANT, 'username[$ne]': 'x' } as Record<string, string>);
      assertOAuthError(res, 400, 'invalid_request');
    });

    it('should 400 invalid_request for a JSON body', async () => {
      const res = await app.httpRequest()
        .post('/oauth/token')
        .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
        .send(PASSWORD_GRANT);
      assertOAuthError(res, 400, 'invalid_request');
      assert.match(res.body.error_description, /x-www-form-urlencoded/);
    });

    it('should 400 invalid_request for GET', async () => {
      const res = await app.httpRequest()
        .get('/oauth/token')
        .query({ grant_type: 'client_credentials' })
        .set('Authorization', basic(CLIENT.clientId, CLIENT.secret));
      assertOAuthError(res, 400, 'invalid_request');
      assert.match(res.body.error_description, /POST/);
    });

    it('should 400 invalid_request for credentials in the URL, before checking them', async () => {
      for (const query of [ PASSWORD_GRANT, { password: USER.password }, { client_secret: CLIENT.secret }, { refresh_token: 'x' }]) {
        const res = await app.httpRequest()
          .post('/oauth/token')
          .query(query)
          .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send(qs.stringify(PASSWORD_GRANT));
        assertOAuthError(res, 400, 'invalid_request');
        assert.match(res.body.error_description, /never in the URL/);
      }
    });

    it('should 400 invalid_request without username', async () => {
      const res = await tokenRequest(app, { grant_type: 'password', password: USER.password });
      assertOAuthError(res, 400, 'invalid_request');
      assert.match(res.body.error_description, /username/);
    });

    it('should 400 invalid_request without password', async () => {
      const res = await tokenRequest(app, { grant_type: 'password', username: USER.username });
      assertOAuthError(res, 400, 'invalid_request');
      assert.match(res.body.error_description, /password/);
    });
  });

  describe('bad user credentials', () => {
    // The same answer for all three, so that nobody can learn which usernames exist.
    async function refused(body: Record<string, string>) {
      const res = await tokenRequest(app, body);
      assertOAuthError(res, 400, 'invalid_grant');
      return res.body;
    }

    it('should 400 invalid_grant with one body for unknown user, wrong password and disabled user', async () => {
      const unknown = await refused({ ...PASSWORD_GRANT, username: 'mallory' });
      const wrong = await refused({ ...PASSWORD_GRANT, password: 'wrong password' });
      await app.container.accounts.setEnabled(USER.username, false);
      const disabled = await refused(PASSWORD_GRANT);
      assert.deepEqual(unknown, wrong);
      assert.deepEqual(disabled, wrong);
    });

    it('should spend one password hash on an unknown user too', async () => {
      let dummyVerifications = 0;
      const hasher = (app.container.credentials as unknown as { hasher: { verifyDummy: (p: string) => Promise<false> } }).hasher;
      const original = hasher.verifyDummy.bind(hasher);
      mock(hasher, 'verifyDummy', async (plain: string) => {
        dummyVerifications++;
        return original(plain);
      });
      await refused({ ...PASSWORD_GRANT, username: 'mallory' });
      assert.equal(dummyVerifications, 1);
    });
  });
});
