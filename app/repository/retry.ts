import { setTimeout as sleep } from 'node:timers/promises';

/** Attempts of one transaction before its deadlock is given up (and answered 503). */
const MAX_ATTEMPTS = 5;

function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ER_LOCK_DEADLOCK';
}

/**
 * Runs a transaction again when MySQL chose it as a deadlock victim (1213; it was rolled back whole),
 * a bounded number of times, after a short random pause so that the two do not meet again.
 */
export async function retryOnDeadlock<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!isDeadlock(err) || attempt >= MAX_ATTEMPTS) throw err;
      await sleep(Math.random() * 10 * attempt);
    }
  }
}
