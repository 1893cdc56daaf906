import type { RDSClient } from '@eggjs/rds';

/**
 * Every connection of the pool works in UTC, so that DATETIME defaults (CURRENT_TIMESTAMP) and the
 * Dates the driver reads and writes (timezone 'Z') agree whatever the server's time zone is.
 * The statement is queued ahead of the first query on each new connection.
 */
export function useUtcSessions(db: RDSClient): void {
  db.pool.on('connection', connection => {
    connection.query('SET time_zone = \'+00:00\'');
  });
}
