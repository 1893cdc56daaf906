import { strict as assert } from 'node:assert';
import type { Context } from 'egg';
import { app, mock } from 'egg-mock/bootstrap';
import { USER, bearer, clientPost, createClient, createUser, login } from '../../helpers';

interface Shown { user: string | null; token?: string | null; authError: string | null }

/** What a protected route sees: the user (at `key`), the raw token (at `tokenKey`), a passthrough's error. */
function show(key = 'user', tokenKey?: string) {
  return (ctx: Context) => {
    const body: Shown = { user: ctx.state[key]?.username ?? null, authError: ctx.state.authError?.name ?? null };
    if (tokenKey) body.token = ctx.state[tokenKey] ?? null;
    ctx.body = body;
  };
}

describe('[Bearer] koa-jwt\'s options on app.oAuth2Server.authenticate()', () => {
  let token: string;

  before(() => {
    // Routes as a service would declare them; egg's router matches routes added after start too.
    const { router, oAuth2Server } = app;
    const fromCookie = oAuth2Server.authenticate({ cookie: 'access_token' });
    router.get('/test/bearer/cookie', fromCookie, show());
    router.post('/test/bearer/cookie', fromCookie, show());
    router.get('/test/bearer/hook', oAuth2Server.authenticate({ getToken: ctx => ctx.get('x-api-token') || null }), show());
    router.get('/test/bearer/optional', oAuth2Server.authenticate({ passthrough: true }), show());
    router.get('/test/bearer/keys', oAuth2Server.authenticate({ key: 'principal', tokenKey: 'rawToken' }), show('principal', 'rawToken'));
    router.get('/test/bearer/debug', oAuth2Server.authenticate({ debug: true }), show());
    router.get('/test/bearer/plain', oAuth2Server.authenticate(), show());
  });
  beforeEach(async () => {
    await createUser(app);
    await createClient(app);
    token = (await login(app)).access_token;
  });
  afterEach(mock.restore);

  describe('cookie', () => {
    it('should take the token from the named cookie on a GET', async () => {
      const res = await app.httpRequest().get('/test/bearer/cookie').set('Cookie', `access_token=${token}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user, USER.username);
    });

    it('should ignore the cookie on a POST: a forged cross-site request would carry it too', async () => {
      const res = await app.httpRequest().post('/test/bearer/cookie').set('Cookie', `access_token=${token}`);
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'unauthorized');
    });

    it('should 400 invalid_request when the header and the cookie both carry a token (RFC 6750 §2)', async () => {
      const res = await bearer(app, '/test/bearer/cookie', token).set('Cookie', `access_token=${token}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.error_description, /only one authentication method/);
    });

    it('should still take the header alone on a route that names a cookie', async () => {
      assert.equal((await bearer(app, '/test/bearer/cookie', token)).status, 200);
    });
  });

  describe('getToken', () => {
    it('should take the token the hook finds', async () => {
      const res = await app.httpRequest().get('/test/bearer/hook').set('X-Api-Token', token);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user, USER.username);
    });

    it('should 400 invalid_request when the hook and the header both give one', async () => {
      const res = await bearer(app, '/test/bearer/hook', token).set('X-Api-Token', token);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_request');
    });

    it('should check what the hook finds like any token', async () => {
      const res = await app.httpRequest().get('/test/bearer/hook').set('X-Api-Token', 'f'.repeat(64));
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid_token');
    });
  });

  describe('passthrough', () => {
    it('should go on without a user, with ctx.state.authError and no challenge, when no token is sent', async () => {
      const res = await app.httpRequest().get('/test/bearer/optional');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { user: null, authError: 'unauthorized_request' });
      assert.equal(res.headers['www-authenticate'], undefined);
    });

    it('should go on without a user for a revoked token', async () => {
      await clientPost(app, '/oauth/revoke', { token });
      const res = await bearer(app, '/test/bearer/optional', token);
      assert.deepEqual(res.body, { user: null, authError: 'invalid_token' });
    });

    it('should go on with the user for a valid token', async () => {
      const res = await bearer(app, '/test/bearer/optional', token);
      assert.deepEqual(res.body, { user: USER.username, authError: null });
    });

    it('should still answer 503 when the database is out of reach: an outage is no anonymous request', async () => {
      mock(app.container.tokens, 'findTokenByAccessTokenHash', async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      });
      const res = await bearer(app, '/test/bearer/optional', token);
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'temporarily_unavailable');
    });
  });

  describe('key and tokenKey', () => {
    it('should put the user at ctx.state.user by default, and the raw token nowhere', async () => {
      const res = await bearer(app, '/test/bearer/plain', token);
      assert.deepEqual(res.body, { user: USER.username, authError: null });
    });

    it('should put the user and the raw token where key and tokenKey say', async () => {
      const res = await bearer(app, '/test/bearer/keys', token);
      assert.deepEqual(res.body, { user: USER.username, token, authError: null });
    });
  });

  describe('debug', () => {
    it('should say why a token is refused: unknown, revoked, user disabled', async () => {
      const unknown = await bearer(app, '/test/bearer/debug', 'f'.repeat(64));
      assert.equal(unknown.body.error_description, 'Invalid token: unknown token');
      // Disabled behind the server's back (user:disable would revoke the token first).
      await app.mysql.query('UPDATE users SET enabled = 0 WHERE username = ?', [ USER.username ]);
      const disabled = await bearer(app, '/test/bearer/debug', token);
      assert.equal(disabled.body.error_description, 'Invalid token: user disabled');
      await app.mysql.query('UPDATE users SET enabled = 1 WHERE username = ?', [ USER.username ]);
      const other = (await login(app)).access_token;
      await clientPost(app, '/oauth/revoke', { token: other });
      const revoked = await bearer(app, '/test/bearer/debug', other);
      assert.equal(revoked.status, 401);
      assert.equal(revoked.body.error, 'invalid_token');
      assert.equal(revoked.body.error_description, 'Invalid token: revoked');
    });

    it('should give the one generic description without debug', async () => {
      await clientPost(app, '/oauth/revoke', { token });
      const res = await bearer(app, '/test/bearer/plain', token);
      assert.equal(res.body.error_description, 'Invalid token: access token is invalid');
    });

    it('should give the one generic description in production, debug or not', async () => {
      mock(app.config, 'env', 'prod');
      await clientPost(app, '/oauth/revoke', { token });
      const res = await bearer(app, '/test/bearer/debug', token);
      assert.equal(res.body.error_description, 'Invalid token: access token is invalid');
    });
  });
});
