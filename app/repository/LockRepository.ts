import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RDSClient } from '@eggjs/rds';
import { isDeadlock, retryTransaction } from './retry';

export interface LockOptions {
  /** How long to wait for a lock another process holds; 0: give up at once. */
  waitMs?: number;
  /**
   * How long the lock outlives its holder: a holder that crashed (kill -9, a host gone) leaves its row,
   * which another process may take once the lease has run out. A live holder renews it every third of
   * the lease, so a long task keeps it.
   */
  leaseSeconds?: number;
}

/** Between two tries of a lock that is held: long enough not to flood the database, short next to a migration. */
const POLL_MS = 200;

/**
 * Locks held across processes, hosts and the nodes of a Galera cluster: a row of `named_locks` per lock
 * (per database, since the table is the database's), with its holder and a lease. MySQL's GET_LOCK is
 * not used: it belongs to one server, and on Galera to one node, so hosts on two nodes would both hold
 * it. Taking the lock is one conditional write; on Galera two nodes taking it at once both succeed
 * locally and the second to commit fails certification (1213), which is a "not taken".
 */
export class LockRepository {
  constructor(private readonly db: RDSClient) {}

  /**
   * Runs `task` while this process holds the lock `name`; null, without running it, when another holds
   * it beyond `waitMs`. Each call is a holder of its own (two calls in one process exclude each other too).
   */
  async withLock<T>(name: string, task: () => Promise<T>, { waitMs = 0, leaseSeconds = 60 }: LockOptions = {}): Promise<T | null> {
    const owner = randomUUID();
    const deadline = Date.now() + waitMs;
    while (!await this.tryLock(name, owner, leaseSeconds)) {
      if (Date.now() >= deadline) return null;
      await sleep(POLL_MS * (0.5 + Math.random()));
    }
    const renewal = setInterval(() => {
      // A failed renewal is tried again at the next tick; the lease covers two of them.
      this.renewLock(name, owner, leaseSeconds).catch(() => undefined);
    }, leaseSeconds * 1000 / 3);
    renewal.unref();
    try {
      return await task();
    } finally {
      clearInterval(renewal);
      // Should this fail (the database gone), the lease ends the lock.
      await this.releaseLock(name, owner).catch(() => undefined);
    }
  }

  /**
   * Takes the lock when nobody holds it, or when its holder's lease has run out (by the database's
   * clock). The UPDATE changes the owner to a new id whenever its condition holds, so one affected row
   * means the row is now this owner's, whether the driver counts matched or changed rows.
   */
  private async tryLock(name: string, owner: string, leaseSeconds: number): Promise<boolean> {
    try {
      const inserted = await this.db.query(
        'INSERT IGNORE INTO named_locks (name, owner, expires_at) VALUES (?, ?, NOW(3) + INTERVAL ? SECOND)',
        [ name, owner, leaseSeconds ],
      );
      if (inserted.affectedRows === 1) return true;
      const taken = await this.db.query(
        'UPDATE named_locks SET owner = ?, expires_at = NOW(3) + INTERVAL ? SECOND WHERE name = ? AND expires_at < NOW(3)',
        [ owner, leaseSeconds, name ],
      );
      return taken.affectedRows === 1;
    } catch (err) {
      // Another node took it in the same instant.
      if (isDeadlock(err)) return false;
      throw err;
    }
  }

  private async renewLock(name: string, owner: string, leaseSeconds: number): Promise<void> {
    await retryTransaction(() => this.db.query(
      'UPDATE named_locks SET expires_at = NOW(3) + INTERVAL ? SECOND WHERE name = ? AND owner = ?',
      [ leaseSeconds, name, owner ],
    ));
  }

  private async releaseLock(name: string, owner: string): Promise<void> {
    await retryTransaction(() => this.db.query('DELETE FROM named_locks WHERE name = ? AND owner = ?', [ name, owner ]));
  }
}
