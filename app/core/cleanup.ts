import type { Container } from '../infra/container';

export interface CleanupOptions {
  batchSize: number;
  /** Seconds a revoked grant (a logout, a reuse) is kept with its tokens, for the record. */
  revokedRetention: number;
}

export interface CleanupReport {
  expiredTokens: number;
  revokedGrants: number;
  emptyGrants: number;
  throttleCounters: number;
}

/** Throttle counters older than this (longer than any throttle window) and blocking nothing are deleted. */
const THROTTLE_COUNTER_AGE_MS = 24 * 3600 * 1000;

/** The named lock of one database's cleanup (LockRepository adds the database's name). */
export const CLEANUP_LOCK = 'oauth2_cleanup';

/** Calls `step` until it deletes less than a full batch; returns the total. */
async function drain(step: () => Promise<number>, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = await step();
    total += removed;
    if (removed < batchSize) return total;
  }
}

/**
 * Deletes tokens whose access and refresh lifetimes have both passed, revoked grants (with their
 * tokens) once the retention period is over, and grants left without tokens, in batches of `batchSize`
 * rows so that no statement holds its locks for long. One process at a time cleans a database up,
 * across workers and hosts; returns null when another is at it.
 */
export async function cleanupTokens({ locks, tokens, grants, throttle }: Container, options: CleanupOptions, now = new Date()): Promise<CleanupReport | null> {
  return locks.withLock(CLEANUP_LOCK, async () => {
    const { batchSize } = options;
    const retainedSince = new Date(now.getTime() - options.revokedRetention * 1000);
    return {
      expiredTokens: await drain(() => tokens.removeExpiredTokens(now, batchSize), batchSize),
      revokedGrants: await drain(() => grants.removeRevokedGrants(retainedSince, batchSize), batchSize),
      emptyGrants: await drain(() => grants.removeEmptyGrants(batchSize), batchSize),
      throttleCounters: await drain(() => throttle.removeStaleCounters(new Date(now.getTime() - THROTTLE_COUNTER_AGE_MS), now, batchSize), batchSize),
    };
  });
}
