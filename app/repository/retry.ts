import { setTimeout as sleep } from 'node:timers/promises';

/** Attempts of one transaction before its conflict is given up (and answered 503). */
const MAX_ATTEMPTS = 5;

/** MySQL chose the transaction as a deadlock victim (1213) and rolled it back whole. */
export function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_LOCK_DEADLOCK';
}

export function isDuplicateEntry(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_DUP_ENTRY';
}

/**
 * Runs a transaction again after a conflict that a new attempt resolves (by default a deadlock), a
 * bounded number of times, after a short random pause so that the two do not meet again.
 */
export async function retryTransaction<T>(transaction: () => Promise<T>, retriable: (err: unknown) => boolean = isDeadlock): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!retriable(err) || attempt >= MAX_ATTEMPTS) throw err;
      await sleep(Math.random() * 10 * attempt);
    }
  }
}
