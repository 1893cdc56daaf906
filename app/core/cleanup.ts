import type { RDSClient } from '@eggjs/rds';
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

const LOCK_NAME = 'oauth2_server_token_cleanup';

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
 * tokens) once the retention period is over, and grants left without tokens, in batches of `batchSize` rows so that no statement holds its
 * locks for long. A MySQL named lock lets one process at a time run it, across workers and hosts;
 * returns null when another holds it.
 */
export async function cleanupTokens(db: RDSClient, { tokens, grants, throttle }: Container, options: CleanupOptions, now = new Date()): Promise<CleanupReport | null> {
  const conn = await db.getConnection();
  try {
    const [ lock ] = await conn.query('SELECT GET_LOCK(?, 0) AS acquired', [ LOCK_NAME ]);
    if (lock.acquired !== 1) return null;
    try {
      const { batchSize } = options;
      const retainedSince = new Date(now.getTime() - options.revokedRetention * 1000);
      return {
        expiredTokens: await drain(() => tokens.removeExpiredTokens(now, batchSize), batchSize),
        revokedGrants: await drain(() => grants.removeRevokedGrants(retainedSince, batchSize), batchSize),
        emptyGrants: await drain(() => grants.removeEmptyGrants(batchSize), batchSize),
        throttleCounters: await drain(() => throttle.removeStaleCounters(new Date(now.getTime() - THROTTLE_COUNTER_AGE_MS), now, batchSize), batchSize),
      };
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [ LOCK_NAME ]);
    }
  } finally {
    conn.release();
  }
}
