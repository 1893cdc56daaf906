import type { RDSClient } from '@eggjs/rds';
import { isDeadlock, isDuplicateEntry, retryTransaction } from './retry';
import type { CleanupBatch } from './cleanupBatch';

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
  /** When the newest of them started. */
  pendingSince: Date | null;
  windowStartedAt: Date;
  blockedUntil: Date | null;
}

interface CounterRow {
  throttle_key: string;
  failures: number;
  pending: number;
  pending_since: Date | null;
  window_started_at: Date;
  blocked_until: Date | null;
}

const COLUMNS = 'throttle_key, failures, pending, pending_since, window_started_at, blocked_until';

/** What to do with each counter: write it, or delete it. */
export type CounterChange = Counter | 'delete';

export class ThrottleRepository {
  constructor(private readonly db: RDSClient) {}

  /**
   * Reads the counters of these keys under row locks, lets `decide` compute their new values, and
   * writes them, in one transaction: concurrent attempts on one key are serialised, none is lost.
   * READ COMMITTED locks the rows that exist and no gaps. When `decide` returns no changes (a refused
   * attempt), the transaction is rolled back having written nothing; rolling back rows it had
   * inserted would turn the waiters' locks into gap locks that deadlock each other. A key that has no
   * counter yet is inserted only once the attempt is accepted; when another transaction inserted it
   * first (duplicate key), the whole transaction runs again and finds it, locked. Deadlocks are retried.
   */
  async updateCounters<T>(
    keys: string[],
    decide: (counters: Map<string, Counter>) => { changes: Map<string, CounterChange> | null; result: T },
  ): Promise<T> {
    return retryTransaction(() => this.tryUpdateCounters(keys, decide), { retriable: err => isDeadlock(err) || isDuplicateEntry(err) });
  }

  private async tryUpdateCounters<T>(
    keys: string[],
    decide: (counters: Map<string, Counter>) => { changes: Map<string, CounterChange> | null; result: T },
  ): Promise<T> {
    const conn = await this.db.getConnection();
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.beginTransaction();
      try {
        const rows: CounterRow[] = await conn.query(
          `SELECT throttle_key, failures, pending, pending_since, window_started_at, blocked_until
             FROM auth_throttle WHERE throttle_key IN (?) ORDER BY throttle_key FOR UPDATE`,
          [ keys ],
        );
        const counters = new Map(rows.map(row => [ row.throttle_key, {
          failures: row.failures,
          pending: row.pending,
          pendingSince: row.pending_since,
          windowStartedAt: row.window_started_at,
          blockedUntil: row.blocked_until,
        }]));
        const { changes, result } = decide(counters);
        if (!changes) {
          await conn.rollback();
          return result;
        }
        // One statement per kind of change, rows in key order. Rows that exist are locked by this
        // transaction (FOR UPDATE above), so the upsert only ever updates them; new rows go in with a
        // plain INSERT, so that a key another transaction inserted first is a duplicate (run again).
        const deleted: string[] = [];
        const updated: unknown[][] = [];
        const inserted: unknown[][] = [];
        for (const key of [ ...changes.keys() ].sort()) {
          const change = changes.get(key) as CounterChange;
          if (change === 'delete') {
            deleted.push(key);
          } else {
            const row = [ key, change.failures, change.pending, change.pendingSince, change.windowStartedAt, change.blockedUntil ];
            (counters.has(key) ? updated : inserted).push(row);
          }
        }
        if (deleted.length > 0) await conn.query('DELETE FROM auth_throttle WHERE throttle_key IN (?)', [ deleted ]);
        if (updated.length > 0) {
          await conn.query(
            `INSERT INTO auth_throttle (${COLUMNS}) VALUES ?
              ON DUPLICATE KEY UPDATE failures = VALUES(failures), pending = VALUES(pending), pending_since = VALUES(pending_since),
                window_started_at = VALUES(window_started_at), blocked_until = VALUES(blocked_until)`,
            [ updated ],
          );
        }
        if (inserted.length > 0) await conn.query(`INSERT INTO auth_throttle (${COLUMNS}) VALUES ?`, [ inserted ]);
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

  /** When this username last logged in successfully from this address (the key is an HMAC of both), or null. */
  async findKnownAddress(key: string): Promise<Date | null> {
    const row: { last_success_at: Date } | null = await this.db.queryOne(
      'SELECT last_success_at FROM auth_known_addresses WHERE address_key = ?', [ key ]);
    return row?.last_success_at ?? null;
  }

  async saveKnownAddress(key: string, at: Date): Promise<void> {
    // Parallel logins of one user from one address write this row at once (on two Galera nodes: a conflict).
    await retryTransaction(() => this.db.query(
      'INSERT INTO auth_known_addresses (address_key, last_success_at) VALUES (?, ?) ON DUPLICATE KEY UPDATE last_success_at = VALUES(last_success_at)',
      [ key, at ],
    ));
  }

  /**
   * Deletes up to `limit` counters whose window started before `before` and that block nothing. Found by
   * a plain read of idx_window_started_at (EXPLAIN: type range), deleted by key: see CleanupBatch.
   */
  async removeStaleCounters(before: Date, now: Date, limit: number): Promise<CleanupBatch> {
    const found: Array<{ throttle_key: string }> = await this.db.query(
      `SELECT throttle_key FROM auth_throttle FORCE INDEX (idx_window_started_at)
        WHERE window_started_at < ? AND (blocked_until IS NULL OR blocked_until < ?)
        LIMIT ?`,
      [ before, now, limit ],
    );
    if (found.length === 0) return { matched: 0, removed: 0 };
    const result = await retryTransaction(() => this.db.query(
      `DELETE c FROM auth_throttle c FORCE INDEX (PRIMARY)
        WHERE c.throttle_key IN (?) AND c.window_started_at < ? AND (c.blocked_until IS NULL OR c.blocked_until < ?)`,
      [ found.map(row => row.throttle_key), before, now ],
    ));
    return { matched: found.length, removed: result.affectedRows };
  }

  /** Deletes up to `limit` known addresses whose last successful login was before `before`. */
  async removeKnownAddresses(before: Date, limit: number): Promise<CleanupBatch> {
    const found: Array<{ address_key: string }> = await this.db.query(
      'SELECT address_key FROM auth_known_addresses FORCE INDEX (idx_last_success_at) WHERE last_success_at < ? LIMIT ?',
      [ before, limit ],
    );
    if (found.length === 0) return { matched: 0, removed: 0 };
    const result = await this.db.query(
      `DELETE a FROM auth_known_addresses a FORCE INDEX (PRIMARY)
        WHERE a.address_key IN (?) AND a.last_success_at < ?`,
      [ found.map(row => row.address_key), before ],
    );
    return { matched: found.length, removed: result.affectedRows };
  }
}
