import type { RDSClient } from '@eggjs/rds';

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
 * Settings of every connection of the pool, for the app and the command line alike:
 * - UTC, so that DATETIME defaults (CURRENT_TIMESTAMP) and the Dates the driver reads and writes
 *   (timezone 'Z') agree whatever the server's time zone is (queued ahead of the first query);
 * - failed statements' errors carry no values (redactDatabaseError), on the pool, its connections
 *   and its transactions (which copy the client's hooks).
 */
export function prepareSessions(db: RDSClient): void {
  db.pool.on('connection', connection => {
    connection.query('SET time_zone = \'+00:00\'');
  });
  db.afterQuery((_sql, _rows, _duration, err) => {
    if (err) redactDatabaseError(err);
  });
}
