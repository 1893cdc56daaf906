import mock, { type MockApplication } from 'egg-mock';

/** What a deadlock victim, or a Galera node whose commit failed certification, gets from mysql2. */
export function conflict(): Error {
  return Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
}

/**
 * Makes the next `count` statements matching `pattern` fail as a certification failure (1213) would,
 * whether sent on the pool or on a connection taken from it (a transaction, the throttle's procedures);
 * `before` runs first each time, as what the winning node committed. `seen` counts the matching
 * statements sent so far, failed or not. Undone by mock.restore (egg-mock's bootstrap, after each test).
 */
export function failNext(app: MockApplication, pattern: RegExp, count: number, before?: () => Promise<unknown>): { seen: number } {
  const state = { seen: 0 };
  type Query = <T>(sql: string, values?: object) => Promise<T>;
  const failing = (query: Query): Query => async <T>(sql: string, values?: object) => {
    if (pattern.test(sql) && state.seen++ < count) {
      await before?.();
      throw conflict();
    }
    return query<T>(sql, values);
  };
  // The pool's query, its transactions and the throttle's all send their statements on a checked-out connection.
  const getConnection = app.mysql.getConnection.bind(app.mysql);
  mock(app.mysql, 'getConnection', async () => {
    const conn = await getConnection();
    // A new RDSConnection for each checkout: changing this one changes no other.
    conn.query = failing(conn.query.bind(conn));
    return conn;
  });
  return state;
}
