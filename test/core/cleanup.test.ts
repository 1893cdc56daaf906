import { strict as assert } from 'node:assert';
import { RDSClient } from '@eggjs/rds';
import { app } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../config/database';
import { CLEANUP_LOCK, type CleanupOptions, cleanupTokens } from '../../app/core/cleanup';
import { hashToken } from '../../app/core/token';
import { LockRepository } from '../../app/repository/LockRepository';
import { CLIENT, basic, createClient, createUser, login, refresh, tokenRequest } from '../helpers';

describe('[schedule cleanupTokens] token cleanup', () => {
  const DAY = 24 * 3600 * 1000;

  beforeEach(async () => {
    await createClient(app);
    await createClient(app, { clientId: 'service', grants: [ 'client_credentials' ] });
    await createUser(app);
  });

  const OPTIONS: CleanupOptions = { batchSize: 10, revokedRetention: 7 * 24 * 3600 };
  const cleanup = (options = OPTIONS) => cleanupTokens(app.container, options);

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
    const report = await cleanup({ ...OPTIONS, batchSize: 2 });
    assert.deepEqual(report, { expiredTokens: 5, revokedGrants: 0, emptyGrants: 5, throttleCounters: 0 });
    assert.deepEqual(await tokenIds(), []);
  });

  it('runs in one process at a time', async () => {
    // Another host: a pool of its own, on the same database.
    const otherHost = new RDSClient({ ...databaseSettings('unittest'), connectionLimit: 1 });
    try {
      const report = await new LockRepository(otherHost).withLock(CLEANUP_LOCK, () => cleanup());
      assert.equal(report, null);
    } finally {
      await otherHost.end();
    }
  });

  it('should take a cleanup lock per database', async () => {
    const conn = await app.mysql.getConnection();
    try {
      const [{ own }] = await conn.query('SELECT CONCAT(\'oauth2_cleanup:\', DATABASE()) AS own');
      await conn.query('SELECT GET_LOCK(\'oauth2_cleanup:another_database\', 0)');
      assert.notEqual(await cleanup(), null, 'the cleanup of another database on the server does not hold this one up');
      await conn.query('SELECT GET_LOCK(?, 0)', [ own ]);
      assert.equal(await cleanup(), null, 'the cleanup of this database runs once at a time');
    } finally {
      await conn.query('SELECT RELEASE_ALL_LOCKS()');
      conn.release();
    }
  });
});
