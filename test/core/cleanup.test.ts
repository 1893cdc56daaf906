import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { RDSClient } from '@eggjs/rds';
import { app, mock } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../config/database';
import { CLEANUP_LOCK, type CleanupOptions, cleanupTokens } from '../../app/core/cleanup';
import { generateToken, hashToken } from '../../app/core/token';
import { prepareSessions } from '../../app/infra/dbSession';
import { LockRepository } from '../../app/repository/LockRepository';
import { TokenRepository, type TokenRecord } from '../../app/repository/TokenRepository';
import { CookieBrowser, pkce, redirectParams } from '../browser';
import { CLIENT, USER, basic, clientPost, createClient, createUser, login, refresh, tokenRequest, tokenStatus } from '../helpers';
import { SmsOutbox } from '../smsOutbox';

type Transaction = Awaited<ReturnType<RDSClient['beginTransaction']>>;

describe('[schedule cleanupTokens] token cleanup', () => {
  const DAY = 24 * 3600 * 1000;

  beforeEach(async () => {
    await createClient(app);
    await createClient(app, { clientId: 'service', grants: [ 'client_credentials' ] });
    await createUser(app);
  });

  const OPTIONS: CleanupOptions = { batchSize: 10, revokedRetention: 7 * 24 * 3600, knownAddressSeconds: 30 * 24 * 3600 };
  const cleanup = (options = OPTIONS) => cleanupTokens(app.container, options);

  async function tokenIds(): Promise<number[]> {
    const rows = await app.mysql.query('SELECT id FROM oauth_tokens ORDER BY id');
    return rows.map((row: { id: number }) => Number(row.id));
  }

  async function grantIds(): Promise<string[]> {
    const rows = await app.mysql.query('SELECT id FROM oauth_grants ORDER BY id');
    return rows.map((row: { id: string }) => row.id);
  }

  /** The stored token of a login's access token. */
  async function tokenOf(accessToken: string): Promise<TokenRecord> {
    const record = await app.container.tokens.findTokenByAccessTokenHash(hashToken(accessToken));
    assert.ok(record, 'the token is stored');
    return record;
  }

  /** Sets both lifetimes of these tokens to have ended `ago` ms ago (the access token's alone with `refreshToo` false). */
  async function expire(ids: number[], { ago = DAY, refreshToo = true } = {}): Promise<void> {
    const past = new Date(Date.now() - ago);
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ? WHERE id IN (?)', [ past, ids ]);
    if (refreshToo) await app.mysql.query('UPDATE oauth_tokens SET refresh_token_expires_at = ? WHERE id IN (?)', [ past, ids ]);
  }

  /** Resolves with `work`'s result, or rejects once it has taken longer than a request may wait. */
  async function promptly<T>(work: Promise<T>, what: string): Promise<T> {
    const timer = new AbortController();
    const timeout = sleep(3000, undefined, { signal: timer.signal }).then(() => {
      throw new Error(`${what} waited for more than 3 s`);
    });
    try {
      return await Promise.race([ work, timeout ]);
    } finally {
      timer.abort();
    }
  }

  /**
   * Resolves once another transaction waits for a lock that `holder` holds. InnoDB refreshes what
   * information_schema shows of its transactions only when it was not read for 0.1 s: poll slower.
   */
  async function untilSomethingWaitsFor(holder: Transaction): Promise<void> {
    const [{ thread }] = await holder.query('SELECT CONNECTION_ID() AS thread');
    for (let waited = 0; waited < 5000; waited += 200) {
      const waits = await app.mysql.query(
        `SELECT 1 FROM information_schema.INNODB_LOCK_WAITS w
           JOIN information_schema.INNODB_TRX t ON t.trx_id = w.blocking_trx_id
          WHERE t.trx_mysql_thread_id = ?`,
        [ thread ],
      );
      if (waits.length > 0) return;
      await sleep(200);
    }
    throw new Error('nothing waited for the lock');
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
    app.expectLog(/\[cleanup\] removed 2 expired tokens, 1 revoked grants, 2 empty grants, 0 expired codes, 0 throttle counters/, 'coreLogger');
    const grants = await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_grants');
    assert.equal(grants[0].n, 4, 'the grants of tokens 1, 2, 5+6 and 8');
  });

  it('forgets addresses whose last login is older than the known-address lifetime, and keeps the others', async () => {
    await app.mysql.query('INSERT INTO auth_known_addresses (address_key, last_success_at) VALUES (?, ?), (?, ?)',
      [ 'a'.repeat(64), new Date(Date.now() - 31 * DAY), 'b'.repeat(64), new Date(Date.now() - 29 * DAY) ]);
    const report = await cleanup();
    assert.equal(report?.knownAddresses, 1);
    const rows = await app.mysql.query('SELECT address_key FROM auth_known_addresses');
    assert.deepEqual(rows.map((row: { address_key: string }) => row.address_key), [ 'b'.repeat(64) ]);
  });

  it('removes authorization codes a day after they expired, with the grants of those never exchanged', async () => {
    await app.container.accounts.createClient({ clientId: 'spa', grants: [ 'authorization_code' ], redirectUris: [ 'https://spa.example/cb' ], public: true, skipConsent: true });
    const browser = new CookieBrowser(app);
    await browser.signIn(USER.username, USER.password);
    const codes: string[] = [];
    const verifiers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { verifier, challenge } = pkce();
      const res = await browser.get(`/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'spa', code_challenge: challenge, code_challenge_method: 'S256' })}`);
      codes.push(redirectParams(res.headers.location).get('code') as string);
      verifiers.push(verifier);
    }
    // The first is exchanged, the other two never are; the last expired only an hour ago.
    const exchanged = await tokenRequest(app, { grant_type: 'authorization_code', code: codes[0], client_id: 'spa', code_verifier: verifiers[0] }, '');
    assert.equal(exchanged.status, 200);
    await app.mysql.query('UPDATE oauth_authorization_codes SET expires_at = ?', [ new Date(Date.now() - 2 * DAY) ]);
    await app.mysql.query('UPDATE oauth_authorization_codes SET expires_at = ? ORDER BY gmt_create DESC LIMIT 1', [ new Date(Date.now() - 3600 * 1000) ]);
    const report = await cleanup();
    assert.equal(report?.expiredCodes, 2);
    assert.equal(report?.emptyGrants, 1, 'the never-exchanged code\'s grant; the exchanged one holds tokens');
    const [{ n }] = await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_grants');
    assert.equal(n, 2);
    assert.equal(await tokenStatus(app, exchanged.body.access_token), 200);
  });

  it('removes SMS codes once expired, and SMS send counters a day after their window started', async () => {
    await app.container.accounts.updateContacts(USER.username, { phone: '+8613800138000' });
    const outbox = await SmsOutbox.open(app);
    try {
      for (const [ phone, ip ] of [[ '+8613800138000', '10.0.0.1' ], [ '+8613900139000', '10.0.0.2' ]]) {
        const res = await clientPost(app, '/api/sms/codes', { phone }).set('X-Forwarded-For', ip);
        assert.equal(res.status, 202);
      }
    } finally {
      mock.restore();
      await outbox.close();
    }
    const [ user ] = await app.mysql.query('SELECT id FROM users');
    await app.mysql.query('INSERT INTO sms_codes (phone, user_id, code_mac, expires_at) VALUES (?, ?, ?, ?)',
      [ '+8613700137000', user.id, 'c'.repeat(64), new Date(Date.now() - 1000) ]);
    const counters = async () => (await app.mysql.query('SELECT COUNT(*) AS n FROM auth_throttle'))[0].n;
    // The send counters (per phone, per address, per day) and the client authentication's, all a day old.
    const before = await counters();
    await app.mysql.query('UPDATE auth_throttle SET window_started_at = ?', [ new Date(Date.now() - DAY - 1000) ]);
    const report = await cleanup();
    assert.equal(report?.expiredSmsCodes, 1);
    const phones = await app.mysql.query('SELECT phone FROM sms_codes');
    assert.deepEqual(phones.map((row: { phone: string }) => row.phone), [ '+8613800138000' ], 'the live code stays');
    assert.equal(report?.throttleCounters, before);
    assert.equal(await counters(), 0);
  });

  it('works in batches smaller than the backlog', async () => {
    for (let i = 0; i < 5; i++) await login(app);
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?, refresh_token_expires_at = ?', [ new Date(Date.now() - DAY), new Date(Date.now() - DAY) ]);
    const report = await cleanup({ ...OPTIONS, batchSize: 2 });
    assert.deepEqual(report, { expiredTokens: 5, revokedGrants: 0, emptyGrants: 5, throttleCounters: 0, knownAddresses: 0, expiredCodes: 0, expiredSmsCodes: 0, revocations: 0 });
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

  it('should skip while another holder\'s lease runs, and take the lock of a holder that crashed once its lease is over', async () => {
    // A row is what another host or cluster node holding the lock leaves (GET_LOCK would be per node on Galera).
    await app.mysql.query('INSERT INTO named_locks (name, owner, expires_at) VALUES (?, \'another-host\', NOW(3) + INTERVAL 60 SECOND)', [ CLEANUP_LOCK ]);
    try {
      assert.equal(await cleanup(), null, 'one cleanup at a time per database');
      await app.mysql.query('UPDATE named_locks SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE name = ?', [ CLEANUP_LOCK ]);
      assert.notEqual(await cleanup(), null, 'the crashed holder\'s lease is over');
      const rows = await app.mysql.query('SELECT * FROM named_locks WHERE name = ?', [ CLEANUP_LOCK ]);
      assert.deepEqual(rows, [], 'released after the run');
    } finally {
      await app.mysql.query('DELETE FROM named_locks WHERE name = ?', [ CLEANUP_LOCK ]);
    }
  });

  it('should remove a grant once its last token has expired and keep grants with live tokens', async () => {
    // "rotated": its first token spent and expired, the next one live. "ended": both of its tokens
    // expired, removed in different batches. "single": its one token expired. "live": a fresh login.
    const rotated = await login(app);
    const rotatedFirst = await tokenOf(rotated.access_token);
    const rotatedNext = await tokenOf((await refresh(app, rotated.refresh_token)).body.access_token);
    const ended = await login(app);
    const endedFirst = await tokenOf(ended.access_token);
    const endedNext = await tokenOf((await refresh(app, ended.refresh_token)).body.access_token);
    const single = await tokenOf((await login(app)).access_token);
    const live = await tokenOf((await login(app)).access_token);
    await expire([ rotatedFirst.id, endedFirst.id, endedNext.id, single.id ]);

    const report = await cleanup({ ...OPTIONS, batchSize: 1 });
    assert.deepEqual(report, { expiredTokens: 4, revokedGrants: 0, emptyGrants: 2, throttleCounters: 0, knownAddresses: 0, expiredCodes: 0, expiredSmsCodes: 0, revocations: 0 });
    assert.deepEqual(await tokenIds(), [ rotatedNext.id, live.id ]);
    assert.deepEqual(await grantIds(), [ rotatedNext.grantId, live.grantId ].sort());
  });

  describe('while logins and refreshes go on', () => {
    /** Another worker's pool: it gives up on a row lock after 1 s, where a request would hang. */
    let impatient: RDSClient;
    before(() => {
      const settings = { ...databaseSettings('unittest'), connectionLimit: 2 };
      impatient = new RDSClient(settings);
      prepareSessions(impatient, settings);
      impatient.pool.on('connection', connection => {
        connection.query('SET SESSION innodb_lock_wait_timeout = 1');
      });
    });
    after(() => impatient.end());

    it('should not block a refresh while it deletes expired tokens', async () => {
      // "refreshing": its access token has expired and its refresh token is being used right now.
      const refreshing = await tokenOf((await login(app)).access_token);
      const dead = await tokenOf((await login(app)).access_token);
      await expire([ refreshing.id ], { ago: 2 * DAY, refreshToo: false });
      await expire([ dead.id ]);
      // Holding the dead row keeps the cleanup's batch open, with every lock it has taken so far.
      const holder = await app.mysql.beginTransaction();
      let running: ReturnType<typeof cleanup> | undefined;
      try {
        await holder.query('SELECT id FROM oauth_tokens WHERE id = ? FOR UPDATE', [ dead.id ]);
        running = cleanup();
        await untilSomethingWaitsFor(holder);
        const now = Date.now();
        const spent = await new TokenRepository(impatient).saveToken({
          grantId: refreshing.grantId,
          accessTokenHash: hashToken(generateToken()),
          accessTokenExpiresAt: new Date(now + 3600 * 1000),
          refreshTokenHash: hashToken(generateToken()),
          refreshTokenExpiresAt: new Date(now + 60 * DAY),
          clientId: refreshing.client.id,
          userId: refreshing.user?.id ?? null,
          scope: refreshing.scope,
          audience: null,
        }, { spends: { tokenId: refreshing.id, at: new Date(now) } });
        assert.equal(spent, true, 'the refresh spent its token and stored the next one');
      } finally {
        await holder.rollback();
        await Promise.allSettled([ running ]);
      }
      assert.deepEqual(await running, { expiredTokens: 1, revokedGrants: 0, emptyGrants: 1, throttleCounters: 0, knownAddresses: 0, expiredCodes: 0, expiredSmsCodes: 0, revocations: 0 });
    });

    it('should not wait for a login in progress', async () => {
      const dead = await tokenOf((await login(app)).access_token);
      await expire([ dead.id ]);
      // A login writes its grant and first token in one transaction; this one has not committed yet.
      const pending = await app.mysql.beginTransaction();
      try {
        const [ client ] = await pending.query('SELECT id FROM oauth_clients WHERE client_id = ?', [ CLIENT.clientId ]);
        const grantId = 'b'.repeat(32);
        await pending.query('INSERT INTO oauth_grants (id, client_id, scope) VALUES (?, ?, \'\')', [ grantId, client.id ]);
        await pending.query(
          `INSERT INTO oauth_tokens (grant_id, access_token_hash, access_token_expires_at, client_id)
           VALUES (?, ?, ?, ?)`,
          [ grantId, hashToken(generateToken()), new Date(Date.now() + 3600 * 1000), client.id ],
        );
        assert.deepEqual(await promptly(cleanup(), 'the cleanup'), { expiredTokens: 1, revokedGrants: 0, emptyGrants: 1, throttleCounters: 0, knownAddresses: 0, expiredCodes: 0, expiredSmsCodes: 0, revocations: 0 });
      } finally {
        await pending.rollback();
      }
    });

    it('should not wait for a login attempt on a throttle counter it keeps', async () => {
      const longAgo = new Date(Date.now() - 2 * DAY);
      await app.mysql.query(
        'INSERT INTO auth_throttle (throttle_key, failures, window_started_at, blocked_until) VALUES (?, 9, ?, ?), (?, 1, ?, NULL)',
        [ 'a'.repeat(64), longAgo, new Date(Date.now() + 3600 * 1000), 'b'.repeat(64), longAgo ],
      );
      // The counter still blocks; an attempt on its key holds it while it decides.
      const attempt = await app.mysql.beginTransaction();
      try {
        await attempt.query('SELECT failures FROM auth_throttle WHERE throttle_key = ? FOR UPDATE', [ 'a'.repeat(64) ]);
        assert.deepEqual(await promptly(cleanup(), 'the cleanup'), { expiredTokens: 0, revokedGrants: 0, emptyGrants: 0, throttleCounters: 1, knownAddresses: 0, expiredCodes: 0, expiredSmsCodes: 0, revocations: 0 });
      } finally {
        await attempt.rollback();
      }
      const keys = await app.mysql.query('SELECT throttle_key FROM auth_throttle');
      assert.deepEqual(keys, [{ throttle_key: 'a'.repeat(64) }]);
    });
  });
});
