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

/** What to do with each counter: write it, or delete it. */
export type CounterChange = Counter | 'delete';

/** What `decide` returns: the counters' changes (null: change nothing), and its result. */
export interface CounterDecision<T> {
  changes: Map<string, CounterChange> | null;
  result: T;
}

/** Keys as the procedures read them: a JSON array in key order, the order their rows are locked in. */
const keyList = (keys: string[]) => JSON.stringify([ ...keys ].sort());

/** A DATETIME(3) value of the UTC session, for the JSON the procedures read. */
const sqlTime = (date: Date | null) => date && date.toISOString().slice(0, 23).replace('T', ' ');

export class ThrottleRepository {
  constructor(private readonly db: RDSClient) {}

  /**
   * Reads the counters of these keys under row locks (and, when `knownAddressKey` is given, when that
   * address last logged in successfully), lets `decide` compute their new values, and writes them, in
   * one transaction: concurrent attempts on one key are serialised, none is lost. Two round trips, the
   * procedures of migration 013. READ COMMITTED locks the rows that exist and no gaps. When `decide`
   * returns no changes (a refused attempt), the transaction is rolled back having written nothing;
   * rolling back rows it had inserted would turn the waiters' locks into gap locks that deadlock each
   * other. A key that has no counter yet is inserted only once the attempt is accepted; when another
   * transaction inserted it first (duplicate key), the whole transaction runs again and finds it,
   * locked. Deadlocks, and Galera's certification failures, are retried.
   */
  async updateCounters<T>(
    keys: string[],
    decide: (counters: Map<string, Counter>, knownAddressAt: Date | null) => CounterDecision<T>,
    knownAddressKey?: string,
  ): Promise<T> {
    return retryTransaction(() => this.tryUpdateCounters(keys, decide, knownAddressKey), { retriable: err => isDeadlock(err) || isDuplicateEntry(err) });
  }

  private async tryUpdateCounters<T>(
    keys: string[],
    decide: (counters: Map<string, Counter>, knownAddressAt: Date | null) => CounterDecision<T>,
    knownAddressKey: string | undefined,
  ): Promise<T> {
    const conn = await this.db.getConnection();
    try {
      // On an error the procedures have rolled back already; the rollback below is for decide's own.
      const [ rows, known ]: [ CounterRow[], Array<{ last_success_at: Date }> ] = await conn.query(
        // Locked in key order: two transactions never hold each other's next row.
        'CALL oauth_throttle_lock(?, ?)', [ keyList(keys), knownAddressKey ?? null ]);
      try {
        const counters = new Map(rows.map(row => [ row.throttle_key, {
          failures: row.failures,
          pending: row.pending,
          pendingSince: row.pending_since,
          windowStartedAt: row.window_started_at,
          blockedUntil: row.blocked_until,
        }]));
        const { changes, result } = decide(counters, known[0]?.last_success_at ?? null);
        if (!changes) {
          await conn.rollback();
          return result;
        }
        // Rows in key order, the order their locks are taken in.
        const deleted: string[] = [];
        const updated: unknown[][] = [];
        const inserted: unknown[][] = [];
        for (const key of [ ...changes.keys() ].sort()) {
          const change = changes.get(key) as CounterChange;
          if (change === 'delete') {
            deleted.push(key);
          } else {
            const row = [ key, change.failures, change.pending, sqlTime(change.pendingSince), sqlTime(change.windowStartedAt), sqlTime(change.blockedUntil) ];
            (counters.has(key) ? updated : inserted).push(row);
          }
        }
        // No known address (its last two arguments): a success is a release (migration 014).
        await conn.query('CALL oauth_throttle_write(?, ?, ?, NULL, NULL)', [ JSON.stringify(deleted), JSON.stringify(updated), JSON.stringify(inserted) ]);
        return result;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        throw err;
      }
    } finally {
      conn.release();
    }
  }

  /**
   * Ends one pending attempt on each of `released` (never below zero), deletes `deleted`, and remembers
   * the known address if one is given: one transaction in one round trip (migration 014), the rows
   * locked only while the procedure runs. For a settle that fails nothing, whose changes depend on no
   * counter's value; a key without a counter is left without one. Deadlocks and Galera's certification
   * failures are retried.
   */
  async releaseCounters(released: string[], deleted: string[], knownAddress?: { key: string; at: Date }): Promise<void> {
    await retryTransaction(() => this.db.query('CALL oauth_throttle_release(?, ?, ?, ?)', [
      keyList(released), keyList(deleted), knownAddress?.key ?? null, knownAddress?.at ?? null,
    ]));
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
