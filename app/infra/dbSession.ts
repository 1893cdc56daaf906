import type { PoolConnectionPromisify, RDSClient, RDSClientOptions } from '@eggjs/rds';

/** MySQL errors whose message quotes the value that caused them. */
const VALUE_IN_MESSAGE = /((?:entry|value:?|value for column) )'(?:[^'\\]|\\.)*'/gi;

/**
 * Takes the values out of a failed statement's error before anyone logs it. mysql2 puts the statement
 * with its values inlined on `err.sql` (a password hash, a typed username, a token hash), egg-logger
 * prints every property of an error, and some messages quote the offending value ("Duplicate entry
 * 'alice' for key …"). The SQL template stays in the stack (@eggjs/rds appends it, without values).
 */
function redactDatabaseError(err: Error & { sql?: string; sqlMessage?: string }): void {
  delete err.sql;
  if (err.sqlMessage) err.sqlMessage = err.sqlMessage.replace(VALUE_IN_MESSAGE, '$1\'…\'');
  err.message = err.message.replace(VALUE_IN_MESSAGE, '$1\'…\'');
  err.stack = err.stack?.replace(VALUE_IN_MESSAGE, '$1\'…\'');
}

/**
 * One statement, queued ahead of a new connection's first query, that works on MySQL, MariaDB and a
 * MariaDB Galera node alike:
 * - UTC, so that DATETIME defaults (CURRENT_TIMESTAMP) and the Dates the driver reads and writes
 *   (timezone 'Z') agree whatever the server's time zone is;
 * - on a Galera node (wsrep_on), causal reads: wsrep_sync_wait gains its READ bit (1), so a SELECT
 *   waits until this node has applied every write the cluster committed before it. Without it a
 *   token issued through one node is unknown for a moment on another (measured by the cluster test:
 *   stale reads on node 2 right after commits on node 1), a refresh token is not found, a
 *   revocation not seen. The wait costs a round of the cluster's messages per read (see the README).
 *   The part inside the MariaDB-only comment is skipped by MySQL; on a MariaDB without Galera
 *   wsrep_on is OFF and the value stays as it was. Bits set by the server's own configuration are kept.
 */
export const SESSION_SETTINGS = 'SET time_zone = \'+00:00\''
  + ' /*M!100000 , wsrep_sync_wait = IF(@@wsrep_on, @@wsrep_sync_wait | 1, @@wsrep_sync_wait) */';

/** The error name that @eggjs/rds gives a pool with no connection free in time: errors.ts answers it with 503. */
class PoolWaitTimeoutError extends Error {
  override name = 'PoolWaitTimeoutError';
}

/** The wait that @eggjs/rds gives a client built without poolWaitTimeout. */
const DEFAULT_POOL_WAIT_MS = 500;

/**
 * A connection from the pool, or PoolWaitTimeoutError once `waitMs` have passed (a connection that
 * comes later goes back to the pool): @eggjs/rds 1.5's getConnectionWithTimeout, with one timer where
 * it has an AbortController and a timers/promises timeout, which it aborts on success and so builds
 * an AbortError (a DOMException, its stack captured) for every statement run outside a transaction
 * and every transaction begun. That was 9 % of a worker's time during logins (README, Performance).
 */
function connectionWithin(db: RDSClient, waitMs: number): Promise<PoolConnectionPromisify> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new PoolWaitTimeoutError(`get connection timeout after ${waitMs}ms`));
    }, waitMs);
    db.pool.getConnection().then(conn => {
      if (late) {
        conn.release();
        return;
      }
      clearTimeout(timer);
      resolve(conn);
    }, (err: Error) => {
      if (late) return;
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Settings of every connection of the pool, for the app and the command line alike, given the options
 * the client was built with:
 * - SESSION_SETTINGS (UTC; causal reads on a Galera cluster);
 * - failed statements' errors carry no values (redactDatabaseError), on the pool, its connections
 *   and its transactions (which copy the client's hooks);
 * - the wait for a free connection is connectionWithin's.
 */
export function prepareSessions(db: RDSClient, { poolWaitTimeout = DEFAULT_POOL_WAIT_MS }: Pick<RDSClientOptions, 'poolWaitTimeout'>): void {
  db.pool.on('connection', connection => {
    connection.query(SESSION_SETTINGS);
  });
  db.afterQuery((_sql, _rows, _duration, err) => {
    if (err) redactDatabaseError(err);
  });
  db.getConnectionWithTimeout = () => connectionWithin(db, poolWaitTimeout);
}
