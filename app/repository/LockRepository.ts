import type { RDSClient } from '@eggjs/rds';

/**
 * MySQL named locks (GET_LOCK). They are server-wide, so a lock's name carries the database's: apps on
 * other databases of the same server do not exclude this one. On Galera they are node-local.
 */
export class LockRepository {
  constructor(private readonly db: RDSClient) {}

  /**
   * Runs `task` while this process holds the named lock `name` of this database; null, without running
   * it, when another process holds it. The lock belongs to a connection, which is kept for the duration.
   */
  async withLock<T>(name: string, task: () => Promise<T>): Promise<T | null> {
    const conn = await this.db.getConnection();
    try {
      const [{ acquired }] = await conn.query('SELECT GET_LOCK(CONCAT(?, \':\', DATABASE()), 0) AS acquired', [ name ]);
      if (acquired !== 1) return null;
      try {
        return await task();
      } finally {
        await conn.query('SELECT RELEASE_LOCK(CONCAT(?, \':\', DATABASE()))', [ name ]);
      }
    } finally {
      conn.release();
    }
  }
}
