import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** What a new attempt resolves (by default a deadlock or a Galera certification failure). */
  retriable?: (err: unknown) => boolean;
  /** Attempts in all before the conflict is handed to the caller. */
  attempts?: number;
  /** The first pause is up to this long; each further one may be twice as long, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Eight attempts with pauses of up to 5, 10, 20, 40, 80, 160 and 200 ms: under a second in all. On a
 * Galera cluster each commit on one node aborts the conflicting transactions in flight on the others,
 * so a burst of N writers on one row across two nodes needs about N/2 attempts for its last one (20
 * parallel logins from one address touch the same throttle rows); one server's row locks queue them
 * instead, and a deadlock there rarely needs a second attempt.
 */
const DEFAULTS = { attempts: 8, baseDelayMs: 5, maxDelayMs: 200 };

/**
 * MySQL chose the transaction as a deadlock victim (1213) and rolled it back whole. Galera reports a
 * certification failure (another node committed a conflicting write first) with the same code, at
 * COMMIT or at the next statement.
 */
export function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_LOCK_DEADLOCK';
}

export function isDuplicateEntry(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
}

/**
 * Runs a transaction again after a conflict that a new attempt resolves, a bounded number of times,
 * after a random pause ("full jitter": anywhere from 0 to a cap that doubles each time), so that the
 * transactions that met do not meet again. The last attempt's error goes to the caller, who answers
 * it as its semantics say (a refresh that lost is invalid_grant; anything else a 503).
 */
export async function retryTransaction<T>(transaction: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retriable = isDeadlock, attempts, baseDelayMs, maxDelayMs } = { ...DEFAULTS, ...options };
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!retriable(err) || attempt >= attempts) throw err;
      await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}
