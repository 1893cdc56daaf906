import type { RDSClient } from '@eggjs/rds';
import mock, { type MockApplication } from 'egg-mock';

/** What a deadlock victim, or a Galera node whose commit failed certification, gets from mysql2. */
export function conflict(): Error {
  return Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
}

/**
 * Runs `before` ahead of every statement `db` sends: a query on the pool, in a transaction or on a
 * connection taken from it, since all of them go through a checked-out connection. What `before`
 * throws is what the statement throws. Undone by mock.restore (egg-mock's bootstrap, after each test).
 */
export function beforeEveryStatement(db: RDSClient, before: (sql: string) => void | Promise<void>): void {
  const getConnection = db.getConnection.bind(db);
  mock(db, 'getConnection', async () => {
    const conn = await getConnection();
    const query = conn.query.bind(conn);
    // A new RDSConnection for each checkout: changing this one changes no other.
    conn.query = async <T>(sql: string, values?: object) => {
      await before(sql);
      return query<T>(sql, values);
    };
    return conn;
  });
}

/**
 * Makes the next `count` statements matching `pattern` fail as a certification failure (1213) would;
 * `before` runs first each time, as what the winning node committed. `seen` counts the matching
 * statements sent so far, failed or not. Undone by mock.restore.
 */
export function failNext(app: MockApplication, pattern: RegExp, count: number, before?: () => Promise<unknown>): { seen: number } {
  const state = { seen: 0 };
  beforeEveryStatement(app.mysql, async sql => {
    if (pattern.test(sql) && state.seen++ < count) {
      await before?.();
      throw conflict();
    }
  });
  return state;
}
