import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { app } from 'egg-mock/bootstrap';
import bcrypt from 'bcrypt';
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
