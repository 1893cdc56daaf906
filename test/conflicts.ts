import mock, { type MockApplication } from 'egg-mock';

/** What a deadlock victim, or a Galera node whose commit failed certification, gets from mysql2. */
export function conflict(): Error {
  return Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
}

/**
 * Makes the next `count` statements matching `pattern` fail as a certification failure (1213) would;
 * `before` runs first each time, as what the winning node committed. `seen` counts the matching
 * statements sent so far, failed or not. Undone by mock.restore (egg-mock's bootstrap, after each test).
 */
export function failNext(app: MockApplication, pattern: RegExp, count: number, before?: () => Promise<unknown>): { seen: number } {
  const query = app.mysql.query.bind(app.mysql);
  const state = { seen: 0 };
  mock(app.mysql, 'query', async (sql: string, values?: unknown[]) => {
    if (pattern.test(sql) && state.seen++ < count) {
      await before?.();
      throw conflict();
    }
    return query(sql, values);
  });
  return state;
}
