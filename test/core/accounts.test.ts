import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import { cleanupTokens } from '../../app/core/cleanup';
import { hashToken } from '../../app/core/token';
import { CLIENT, USER, basic, createClient, createUser, login, refresh, tokenRequest, tokenStatus } from '../helpers';

const status = (token: string) => tokenStatus(app, token);

describe('account changes take effect at once', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });

  it('disabling a user kills its tokens and refreshes, and enabling it again does not revive them', async () => {
    const tokens = await login(app);
    await app.container.accounts.setEnabled(USER.username, false);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
    await app.container.accounts.setEnabled(USER.username, true);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
    assert.equal(await status((await login(app)).access_token), 200, 'a new login works');
  });

  it('changing the password revokes every login of the user', async () => {
    const phone = await login(app);
    const laptop = await login(app);
    await app.container.accounts.setPassword(USER.username, 'a brand new password');
    for (const tokens of [ phone, laptop ]) {
      assert.equal(await status(tokens.access_token), 401);
      assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
    }
  });

  it('disabling a client kills its tokens, also after it is enabled again', async () => {
    const tokens = await login(app);
    await app.container.accounts.setClientEnabled(CLIENT.clientId, false);
    assert.equal(await status(tokens.access_token), 401);
    await app.container.accounts.setClientEnabled(CLIENT.clientId, true);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
  });

  it('deleting a client deletes its grants and tokens', async () => {
    await login(app);
    await app.container.accounts.deleteClient(CLIENT.clientId);
    const [ counts ] = await app.mysql.query('SELECT (SELECT COUNT(*) FROM oauth_tokens) AS tokens, (SELECT COUNT(*) FROM oauth_grants) AS grants');
    assert.deepEqual(counts, { tokens: 0, grants: 0 });
  });

  it('a user\'s sessions are listed per login and can all be logged out', async () => {
    await createClient(app, { clientId: 'mobile' });
    await login(app);
    await login(app, basic('mobile', CLIENT.secret));
    const sessions = await app.container.accounts.listSessions(USER.username);
    assert.deepEqual(sessions.map(s => s.clientId).sort(), [ 'mobile', CLIENT.clientId ]);
    assert.equal(await app.container.accounts.logoutEverywhere(USER.username), 2);
    assert.deepEqual(await app.container.accounts.listSessions(USER.username), []);
  });
});

describe('token cleanup (app/schedule/cleanupTokens)', () => {
  const DAY = 24 * 3600 * 1000;

  beforeEach(async () => {
    await createClient(app);
    await createClient(app, { clientId: 'service', grants: [ 'client_credentials' ] });
    await createUser(app);
  });

  async function tokenIds(): Promise<number[]> {
    const rows = await app.mysql.query('SELECT id FROM oauth_tokens ORDER BY id');
    return rows.map((row: { id: number }) => Number(row.id));
  }

  it('removes exactly the dead rows and keeps the live ones', async () => {
    const now = Date.now();
    // 1: live login. 2: access expired, refresh live: kept. 3: both expired: removed.
    await login(app);
    await login(app);
    await login(app);
    // 4: client_credentials (no refresh token), expired: removed. 5: spent 8 days ago, its refresh
    // token still valid: kept, so that its reuse is detected; 6: its successor, live: kept.
    // 7: revoked (logout) 8 days ago: its grant and token removed. 8: revoked 1 day ago: kept.
    await tokenRequest(app, { grant_type: 'client_credentials' }, basic('service', CLIENT.secret));
    const rotated = await login(app);
    await refresh(app, rotated.refresh_token);
    const old = await login(app);
    const recent = await login(app);
    const ids = await tokenIds();
    assert.equal(ids.length, 8);
    const [ t1, t2, t3, t4, t5, t6, , t8 ] = ids;
    const past = new Date(now - DAY);
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ? WHERE id IN (?)', [ past, [ t2, t3, t4 ]]);
    await app.mysql.query('UPDATE oauth_tokens SET refresh_token_expires_at = ? WHERE id = ?', [ past, t3 ]);
    await app.mysql.query('UPDATE oauth_tokens SET revoked_at = ? WHERE id = ?', [ new Date(now - 8 * DAY), t5 ]);
    await app.container.grants.revokeGrant((await app.container.tokens.findTokenByAccessTokenHash(hashToken(old.access_token)))!.grantId, 'logout', new Date(now - 8 * DAY));
    await app.container.grants.revokeGrant((await app.container.tokens.findTokenByAccessTokenHash(hashToken(recent.access_token)))!.grantId, 'logout', new Date(now - DAY));

    app.mockLog('coreLogger');
    await app.runSchedule('cleanupTokens');
    assert.deepEqual(await tokenIds(), [ t1, t2, t5, t6, t8 ]);
    app.expectLog(/\[cleanup\] removed 2 expired tokens, 1 revoked grants, 2 empty grants, 0 throttle counters/, 'coreLogger');
    const grants = await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_grants');
    assert.equal(grants[0].n, 4, 'the grants of tokens 1, 2, 5+6 and 8');
  });

  it('works in batches smaller than the backlog', async () => {
    for (let i = 0; i < 5; i++) await login(app);
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?, refresh_token_expires_at = ?', [ new Date(Date.now() - DAY), new Date(Date.now() - DAY) ]);
    const report = await cleanupTokens(app.mysql, app.container, { batchSize: 2, revokedRetention: 7 * 24 * 3600 });
    assert.deepEqual(report, { expiredTokens: 5, revokedGrants: 0, emptyGrants: 5, throttleCounters: 0 });
    assert.deepEqual(await tokenIds(), []);
  });

  it('runs in one process at a time', async () => {
    const conn = await app.mysql.getConnection();
    try {
      await conn.query('SELECT GET_LOCK(\'oauth2_server_token_cleanup\', 0)');
      assert.equal(await cleanupTokens(app.mysql, app.container, { batchSize: 10, revokedRetention: 0 }), null);
    } finally {
      await conn.query('SELECT RELEASE_LOCK(\'oauth2_server_token_cleanup\')');
      conn.release();
    }
  });
});
