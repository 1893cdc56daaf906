import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, USER, basic, bearer, createClient, createUser, login, refresh, tokenStatus } from '../../helpers';
import { failNext } from '../../conflicts';

const status = (token: string) => tokenStatus(app, token);

describe('[POST /oauth/token] grant_type=refresh_token', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });
  afterEach(mock.restore);

  // RFC 6749 §6, and RFC 9700 §4.14.2: "the authorization server issues a new refresh token with every
  // access token refresh response. The previous refresh token is invalidated".
  it('should rotate: a new access and refresh token, the old pair stops working', async () => {
    const first = await login(app);
    const res = await refresh(app, first.refresh_token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.access_token, /^[0-9a-f]{64}$/);
    assert.match(res.body.refresh_token, /^[0-9a-f]{64}$/);
    assert.notEqual(res.body.refresh_token, first.refresh_token);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(await status(first.access_token), 401, 'the replaced access token stops working');
    assert.equal(await status(res.body.access_token), 200);
    // And the new refresh token refreshes in turn.
    const again = await refresh(app, res.body.refresh_token);
    assert.equal(again.status, 200);
  });

  it('should treat a spent refresh token as reuse: invalid_grant, and the whole login is revoked', async () => {
    const first = await login(app);
    const rotated = (await refresh(app, first.refresh_token)).body;
    const reuse = await refresh(app, first.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    // The thief or the victim holds the rotated pair: both are out.
    assert.equal(await status(rotated.access_token), 401);
    assert.equal((await refresh(app, rotated.refresh_token)).body.error, 'invalid_grant');
    const [ grant ] = await app.mysql.query('SELECT revoke_reason FROM oauth_grants');
    assert.equal(grant.revoke_reason, 'reuse');
  });

  it('should revoke the login when two requests race with one refresh token (grace period 0)', async () => {
    const first = await login(app);
    const results = await Promise.all([ refresh(app, first.refresh_token), refresh(app, first.refresh_token) ]);
    const ok = results.filter(r => r.status === 200);
    assert.ok(ok.length <= 1, 'at most one refresh wins');
    for (const r of ok) assert.equal(await status(r.body.access_token), 401, 'the winner of a race is revoked with its grant');
  });

  describe('with a grace period', () => {
    beforeEach(() => mock(app.config.oauth, 'refreshGracePeriod', 30));

    it('should accept a refresh token spent moments ago (two tabs), without revoking the login', async () => {
      const first = await login(app);
      const tabA = await refresh(app, first.refresh_token);
      const tabB = await refresh(app, first.refresh_token);
      assert.equal(tabA.status, 200);
      assert.equal(tabB.status, 200, JSON.stringify(tabB.body));
      assert.equal(await status(tabA.body.access_token), 200);
      assert.equal(await status(tabB.body.access_token), 200);
    });

    it('should answer the late tab with an access token only, so that the login keeps one refresh chain', async () => {
      const first = await login(app);
      const tabA = await refresh(app, first.refresh_token);
      const tabB = await refresh(app, first.refresh_token);
      assert.equal(tabB.status, 200, JSON.stringify(tabB.body));
      assert.ok(tabA.body.refresh_token);
      assert.equal(tabB.body.refresh_token, undefined, 'a second live refresh token would fork the login');
      assert.ok(tabB.body.expires_in > 0);
      const [{ live }] = await app.mysql.query('SELECT COUNT(*) AS live FROM oauth_tokens WHERE refresh_token_hash IS NOT NULL AND revoked_at IS NULL');
      assert.equal(live, 1);
      // The chain goes on from the winner's refresh token.
      assert.equal((await refresh(app, tabA.body.refresh_token)).status, 200);
    });

    it('should let both of two simultaneous refreshes succeed, one of them without a refresh token', async () => {
      const first = await login(app);
      const results = await Promise.all([ refresh(app, first.refresh_token), refresh(app, first.refresh_token) ]);
      assert.deepEqual(results.map(r => r.status), [ 200, 200 ]);
      assert.equal(results.filter(r => r.body.refresh_token).length, 1, JSON.stringify(results.map(r => r.body)));
    });

    it('should still treat a reuse after the grace period as theft', async () => {
      const first = await login(app);
      await refresh(app, first.refresh_token);
      await app.mysql.query('UPDATE oauth_tokens SET revoked_at = ? WHERE revoke_reason = \'rotated\'', [ new Date(Date.now() - 31000) ]);
      const late = await refresh(app, first.refresh_token);
      assert.equal(late.body.error, 'invalid_grant');
      const [ grant ] = await app.mysql.query('SELECT revoke_reason FROM oauth_grants');
      assert.equal(grant.revoke_reason, 'reuse');
    });
  });

  it('should not let another client revoke the owner\'s login by presenting its spent refresh token', async () => {
    await createClient(app, { clientId: 'other_app' });
    const first = await login(app);
    const next = await refresh(app, first.refresh_token);
    const stranger = await refresh(app, first.refresh_token, {}, basic('other_app', CLIENT.secret));
    assert.equal(stranger.status, 400);
    assert.equal(stranger.body.error, 'invalid_grant');
    const [ grant ] = await app.mysql.query('SELECT revoked_at FROM oauth_grants');
    assert.equal(grant.revoked_at, null, 'reuse detection runs only for the client the token was issued to');
    assert.equal(await status(next.body.access_token), 200);
    assert.equal((await refresh(app, next.body.refresh_token)).status, 200);
  });

  it('should 400 invalid_grant when the refresh token has expired', async () => {
    await createClient(app, { clientId: 'short', refreshTokenLifetime: 1 });
    const { refresh_token } = await login(app, basic('short', CLIENT.secret));
    await sleep(1100);
    const res = await refresh(app, refresh_token, {}, basic('short', CLIENT.secret));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
    assert.match(res.body.error_description, /expired/);
  });

  it('should give refresh tokens the client\'s refresh lifetime, or 60 days by default', async () => {
    await createClient(app, { clientId: 'short', refreshTokenLifetime: 600 });
    await login(app, basic('short', CLIENT.secret));
    await login(app);
    const rows = await app.mysql.query('SELECT TIMESTAMPDIFF(SECOND, gmt_create, refresh_token_expires_at) AS ttl FROM oauth_tokens ORDER BY id');
    assert.ok(Math.abs(rows[0].ttl - 600) <= 2, String(rows[0].ttl));
    assert.ok(Math.abs(rows[1].ttl - 60 * 24 * 3600) <= 2, String(rows[1].ttl));
  });

  it('should refuse to refresh for a disabled user', async () => {
    const { refresh_token } = await login(app);
    await app.mysql.query('UPDATE users SET enabled = 0');
    assert.equal((await refresh(app, refresh_token)).body.error, 'invalid_grant');
  });

  it('should refuse to refresh for a disabled client', async () => {
    const { refresh_token } = await login(app);
    await app.container.accounts.setClientEnabled(CLIENT.clientId, false);
    const res = await refresh(app, refresh_token);
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
  });

  it('should refuse a refresh token issued to another client', async () => {
    await createClient(app, { clientId: 'other' });
    const { refresh_token } = await login(app);
    const res = await refresh(app, refresh_token, {}, basic('other', CLIENT.secret));
    assert.equal(res.body.error, 'invalid_grant');
  });

  it('should 400 invalid_grant for an unknown refresh token and invalid_request without one', async () => {
    assert.equal((await refresh(app, 'f'.repeat(64))).body.error, 'invalid_grant');
    const missing = await refresh(app, '');
    assert.equal(missing.body.error, 'invalid_request');
  });

  it('should not touch the tokens of another device of the same user', async () => {
    const phone = await login(app);
    const laptop = await login(app);
    await refresh(app, phone.refresh_token);
    await refresh(app, phone.refresh_token); // reuse: the phone's login is revoked
    assert.equal(await status(laptop.access_token), 200);
    assert.equal((await refresh(app, laptop.refresh_token)).status, 200);
  });

  // RFC 6749 §6: "The requested scope MUST NOT include any scope not originally granted by the resource
  // owner" … "the refresh token scope MUST be identical to that of the refresh token included by the client".
  it('should keep the scope, narrow the access token on request, and never go beyond the login\'s scope', async () => {
    await createClient(app, { clientId: 'scoped', scopes: [ 'read', 'write', 'admin' ] });
    const auth = basic('scoped', CLIENT.secret);
    const first = await login(app, auth, { scope: 'read write' });
    assert.equal(first.scope, 'read write');
    const same = await refresh(app, first.refresh_token, {}, auth);
    assert.equal(same.body.scope, 'read write');
    const narrowed = await refresh(app, same.body.refresh_token, { scope: 'read' }, auth);
    assert.equal(narrowed.body.scope, 'read');
    // The narrowed refresh's new refresh token still carries the login's scope.
    const back = await refresh(app, narrowed.body.refresh_token, {}, auth);
    assert.equal(back.body.scope, 'read write');
    const widened = await refresh(app, back.body.refresh_token, { scope: 'read write admin' }, auth);
    assert.equal(widened.body.error, 'invalid_scope');
  });

  it('should leave the refresh token usable when the refresh fails on the way (scope refused, database gone)', async () => {
    await createClient(app, { clientId: 'scoped', scopes: [ 'read', 'write' ] });
    const auth = basic('scoped', CLIENT.secret);
    const first = await login(app, auth, { scope: 'read' });
    assert.equal((await refresh(app, first.refresh_token, { scope: 'read write' }, auth)).body.error, 'invalid_scope');
    const saveToken = app.container.tokens.saveToken.bind(app.container.tokens);
    mock(app.container.tokens, 'saveToken', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    });
    assert.equal((await refresh(app, first.refresh_token, {}, auth)).status, 503);
    mock(app.container.tokens, 'saveToken', saveToken);
    const retry = await refresh(app, first.refresh_token, {}, auth);
    assert.equal(retry.status, 200, 'not taken for reuse');
    assert.equal(await status(retry.body.access_token), 200);
  });

  describe('on a Galera cluster, where a conflict with another node fails the commit (1213)', () => {
    it('should retry, and answer invalid_grant (never 5xx) when the retry finds the token spent by the racing refresh', async () => {
      const first = await login(app);
      // The refresh that won on the other node committed first: this commit fails certification.
      const calls = failNext(app, /^CALL oauth_save_token/, 1,
        () => app.mysql.query('UPDATE oauth_tokens SET revoked_at = NOW(3), revoke_reason = \'rotated\' WHERE revoked_at IS NULL'));
      const res = await refresh(app, first.refresh_token);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_grant');
      assert.ok(calls.seen >= 2, 'retried');
    });

    it('should answer invalid_grant, never 5xx, and revoke nothing, when it still conflicts after every retry', async () => {
      const first = await login(app);
      failNext(app, /^CALL oauth_save_token/, Infinity);
      const res = await refresh(app, first.refresh_token);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_grant');
      mock.restore();
      assert.equal(await status(first.access_token), 200, 'the token was not spent: nothing to take for reuse');
      assert.equal((await refresh(app, first.refresh_token)).status, 200);
    });
  });

  it('should keep user and grant: the refreshed token is the same login', async () => {
    const first = await login(app);
    const next = (await refresh(app, first.refresh_token)).body;
    const me = await bearer(app, '/api/currentUser', next.access_token);
    assert.equal(me.body.username, USER.username);
    const grants = await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_grants');
    assert.equal(grants[0].n, 1);
  });
});
