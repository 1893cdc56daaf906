import type { RDSClient } from '@eggjs/rds';

/** How one kind of failure is counted and blocked. */
export interface ThrottlePolicy {
  /** Failures within `windowSeconds` before the key is blocked. */
  threshold: number;
  windowSeconds: number;
  /** Each failure at or over the threshold blocks for `stepSeconds` more than the last, up to `maxBlockSeconds`. */
  stepSeconds: number;
  maxBlockSeconds: number;
}

export class ThrottleRepository {
  constructor(private readonly db: RDSClient) {}

  /** The counters of these keys that exist: key → blocked until (null: counting, not blocked). */
  async findCounters(keys: string[]): Promise<Map<string, Date | null>> {
    if (keys.length === 0) return new Map();
    const rows: Array<{ throttle_key: string; blocked_until: Date | null }> = await this.db.query(
      'SELECT throttle_key, blocked_until FROM auth_throttle WHERE throttle_key IN (?)',
      [ keys ],
    );
    return new Map(rows.map(row => [ row.throttle_key, row.blocked_until ]));
  }

  /**
   * Counts one failure, atomically (one statement, safe across workers and hosts): a new window when
   * the last one has passed, and a block of step × (failures − threshold + 1), capped, once the count
   * reaches the threshold.
   */
  async saveFailure(key: string, policy: ThrottlePolicy, now: Date): Promise<void> {
    const windowStart = new Date(now.getTime() - policy.windowSeconds * 1000);
    await this.db.query(
      `INSERT INTO auth_throttle (throttle_key, failures, window_started_at, blocked_until)
         VALUES (?, 1, ?, IF(1 >= ?, DATE_ADD(?, INTERVAL LEAST(?, ?) SECOND), NULL))
       ON DUPLICATE KEY UPDATE
         failures = IF(window_started_at < ?, 1, failures + 1),
         window_started_at = IF(failures = 1, ?, window_started_at),
         blocked_until = IF(failures >= ?,
           DATE_ADD(?, INTERVAL LEAST(? * (CAST(failures AS SIGNED) - ? + 1), ?) SECOND),
           blocked_until)`,
      [
        key, now, policy.threshold, now, policy.stepSeconds, policy.maxBlockSeconds,
        windowStart, now,
        policy.threshold, now, policy.stepSeconds, policy.threshold, policy.maxBlockSeconds,
      ],
    );
  }

  async removeKeys(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.db.query('DELETE FROM auth_throttle WHERE throttle_key IN (?)', [ keys ]);
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
