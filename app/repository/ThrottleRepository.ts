import type { RDSClient } from '@eggjs/rds';
import { retryOnDeadlock } from './retry';

/** How one kind of failure is counted and blocked. */
export interface ThrottlePolicy {
  /** Failures within `windowSeconds` that start a block. */
  threshold: number;
  windowSeconds: number;
  /** The first block lasts `stepSeconds`, each further failure `stepSeconds` more, up to `maxBlockSeconds`. */
  stepSeconds: number;
  maxBlockSeconds: number;
}

export interface Counter {
  failures: number;
  /** Attempts counted at their start and not yet settled. */
  pending: number;
  windowStartedAt: Date;
  blockedUntil: Date | null;
}

interface CounterRow {
  throttle_key: string;
  failures: number;
  pending: number;
  window_started_at: Date;
  blocked_until: Date | null;
}

/** What to do with each counter: write it, or delete it. */
export type CounterChange = Counter | 'delete';

export class ThrottleRepository {
  constructor(private readonly db: RDSClient) {}

  /**
   * Reads the counters of these keys under row locks, lets `decide` compute their new values, and
   * writes them, in one transaction: concurrent attempts on one key are serialised, none is lost.
   * A key without a counter yet gets one with 0 failures first, so that there is a row to lock; the
   * upsert takes the exclusive locks at once (INSERT IGNORE would take shared ones, and two attempts
   * each waiting to upgrade would deadlock), in key order. When `decide` returns no changes (a
   * refused attempt), the transaction is rolled back: a refusal writes nothing, not even new rows.
   * READ COMMITTED takes no gap locks; a deadlock that still happens is retried.
   */
  async updateCounters<T>(
    keys: string[], now: Date,
    decide: (counters: Map<string, Counter>) => { changes: Map<string, CounterChange> | null; result: T },
  ): Promise<T> {
    return retryOnDeadlock(() => this.tryUpdateCounters(keys, now, decide));
  }

  private async tryUpdateCounters<T>(
    keys: string[], now: Date,
    decide: (counters: Map<string, Counter>) => { changes: Map<string, CounterChange> | null; result: T },
  ): Promise<T> {
    const conn = await this.db.getConnection();
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      try {
        await conn.query(
          'INSERT INTO auth_throttle (throttle_key, failures, window_started_at) VALUES ? ON DUPLICATE KEY UPDATE failures = failures',
          [ [ ...keys ].sort().map(key => [ key, 0, now ]) ],
        );
        const rows: CounterRow[] = await conn.query(
          `SELECT throttle_key, failures, pending, window_started_at, blocked_until
             FROM auth_throttle WHERE throttle_key IN (?) FOR UPDATE`,
          [ keys ],
        );
        const counters = new Map(rows.map(row => [ row.throttle_key, {
          failures: row.failures,
          pending: row.pending,
          windowStartedAt: row.window_started_at,
          blockedUntil: row.blocked_until,
        }]));
        const { changes, result } = decide(counters);
        if (!changes) {
          await conn.rollback();
          return result;
        }
        for (const [ key, change ] of changes) {
          if (change === 'delete') {
            await conn.query('DELETE FROM auth_throttle WHERE throttle_key = ?', [ key ]);
          } else {
            await conn.query(
              'UPDATE auth_throttle SET failures = ?, pending = ?, window_started_at = ?, blocked_until = ? WHERE throttle_key = ?',
              [ change.failures, change.pending, change.windowStartedAt, change.blockedUntil, key ],
            );
          }
        }
        await conn.commit();
        return result;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    } finally {
      conn.release();
    }
  }

  /** Deletes up to `limit` counters whose window started before `before` and that block nothing. */
  async removeStaleCounters(before: Date, now: Date, limit: number): Promise<number> {
    const result = await this.db.query(
      'DELETE FROM auth_throttle WHERE window_started_at < ? AND (blocked_until IS NULL OR blocked_until < ?) LIMIT ?',
      [ before, now, limit ],
    );
    return result.affectedRows;
  }
}
