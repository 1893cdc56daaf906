import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RDSClient } from '@eggjs/rds';
import { app } from 'egg-mock/bootstrap';
import bcrypt from 'bcrypt';
import { databaseSettings } from '../../config/database';
import { prepareSessions } from '../../app/infra/dbSession';
import { isDatabaseUnavailable } from '../../app/oauth/errors';
import { createClient, tokenRequest } from '../helpers';

function errorLog(): string {
  try {
    return readFileSync(path.join(app.config.logger.dir, 'common-error.log'), 'utf8');
  } catch {
    return '';
  }
}

/** What the error log gains while `action` runs (egg's file loggers may buffer for up to a second). */
async function errorLogDuring(action: () => Promise<void>): Promise<string> {
  const before = errorLog().length;
  await action();
  await sleep(1100);
  return errorLog().slice(before);
}

describe('[infra/dbSession] a failed statement leaves no value in the error log', () => {
  beforeEach(() => createClient(app));

  it('should log a failed lookup of a typed username without the username', async () => {
    const typed = 'typed-username-4f1c9e';
    await app.mysql.query('RENAME TABLE users TO users_hidden');
    let logged: string;
    try {
      logged = await errorLogDuring(async () => {
        const res = await tokenRequest(app, { grant_type: 'password', username: typed, password: 'a password' });
        assert.equal(res.status, 500);
      });
    } finally {
      await app.mysql.query('RENAME TABLE users_hidden TO users');
    }
    assert.match(logged, /ER_NO_SUCH_TABLE/, 'the failure itself is logged');
    assert.ok(!logged.includes(typed), logged);
  });

  it('should log a failed password upgrade without the new hash', async () => {
    await app.container.accounts.importUser({ username: 'imported', passwordHash: bcrypt.hashSync('the password 1', 4) });
    // The upgrade to argon2id (an UPDATE carrying the new hash) fails.
    await app.mysql.query('CREATE TRIGGER test_refuse_update BEFORE UPDATE ON users FOR EACH ROW SIGNAL SQLSTATE \'45000\' SET MESSAGE_TEXT = \'forced failure\'');
    let logged: string;
    try {
      logged = await errorLogDuring(async () => {
        const res = await tokenRequest(app, { grant_type: 'password', username: 'imported', password: 'the password 1' });
        assert.equal(res.status, 500);
      });
    } finally {
      await app.mysql.query('DROP TRIGGER test_refuse_update');
    }
    assert.match(logged, /forced failure/);
    assert.ok(!/\$argon2id\$/.test(logged), logged);
  });

  it('should log a duplicate entry without the duplicated value', async () => {
    const logged = await errorLogDuring(async () => {
      await assert.rejects(app.mysql.query('INSERT INTO oauth_clients (client_id, secret_hash, grants, redirect_uris) VALUES (?, ?, ?, ?), (?, ?, ?, ?)',
        [ 'secret-looking-id', 'h', 'password', '', 'secret-looking-id', 'h', 'password', '' ]), (err: Error) => {
        app.logger.error(err);
        assert.ok(!err.message.includes('secret-looking-id'), err.message);
        return true;
      });
    });
    assert.match(logged, /Duplicate entry/);
    assert.ok(!logged.includes('secret-looking-id'), logged);
  });
});

describe('[infra/dbSession] session settings', () => {
  it('should set UTC, and leave wsrep_sync_wait as it was on a server without Galera (the cluster test checks causal reads on Galera)', async () => {
    const conn = await app.mysql.getConnection();
    try {
      const [ row ] = await conn.query('SELECT @@session.time_zone AS tz, @@global.time_zone AS globalTz');
      assert.equal(row.tz, '+00:00');
      const [ wsrep ] = await conn.query('SHOW VARIABLES LIKE \'wsrep_on\'');
      if (wsrep) {
        // A MariaDB: wsrep is compiled in but off; the statement must not turn causal reads on.
        assert.equal(wsrep.Value, 'OFF');
        const [ wait ] = await conn.query('SELECT @@session.wsrep_sync_wait AS session, @@global.wsrep_sync_wait AS global');
        assert.equal(wait.session, wait.global);
      }
    } finally {
      conn.release();
    }
  });
});

describe('[infra/dbSession] waiting for a pooled connection', () => {
  const settings = { ...databaseSettings('unittest'), connectionLimit: 1, poolWaitTimeout: 150 };
  let db: RDSClient;
  beforeEach(() => {
    db = new RDSClient(settings);
    prepareSessions(db, settings);
  });
  afterEach(() => db.end());

  it('should fail with PoolWaitTimeoutError (a 503) after poolWaitTimeout when every connection is taken', async () => {
    const held = await db.getConnection();
    try {
      const started = Date.now();
      await assert.rejects(db.query('SELECT 1'), (err: Error) => {
        assert.equal(err.name, 'PoolWaitTimeoutError');
        assert.ok(isDatabaseUnavailable(err), 'answered as the database being unavailable');
        return true;
      });
      const waited = Date.now() - started;
      assert.ok(waited >= 140 && waited < 450, `gave up after ${waited} ms`);
    } finally {
      held.release();
    }
  });

  it('should put back in the pool a connection that came after the wait was given up', async () => {
    const held = await db.getConnection();
    const late = db.query('SELECT 1');
    setTimeout(() => held.release(), 250);
    await assert.rejects(late, { name: 'PoolWaitTimeoutError' });
    await sleep(200);
    assert.equal(db.stats.freeConnections, 1, 'the late connection went back');
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  it('should hand out a free connection, and the same one again once it is released', async () => {
    const first = await db.getConnection();
    const { threadId } = first;
    first.release();
    const second = await db.getConnection();
    try {
      assert.equal(second.threadId, threadId);
    } finally {
      second.release();
    }
  });
});
