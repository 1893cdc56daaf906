import type { Container } from '../infra/container';
import type { CleanupBatch } from '../repository/cleanupBatch';

export interface CleanupOptions {
  batchSize: number;
  /** Seconds a revoked grant (a logout, a reuse) is kept with its tokens, for the record. */
  revokedRetention: number;
  /** Seconds an address stays known after a login from it (oauth.throttle.knownAddressSeconds). */
  knownAddressSeconds: number;
}

export interface CleanupReport {
  expiredTokens: number;
  revokedGrants: number;
  emptyGrants: number;
  throttleCounters: number;
  knownAddresses: number;
  expiredCodes: number;
  revocations: number;
}

/**
 * Authorization codes live 60 s; a spent one is kept a day beyond its expiry, so that a replay in that
 * time still revokes the tokens issued from it.
 */
const CODE_RETENTION_MS = 24 * 3600 * 1000;

/** The revocation feed is read a few seconds back; an hour is far beyond any reader's window. */
const REVOCATION_RETENTION_MS = 3600 * 1000;

/** Throttle counters older than this (longer than any throttle window) and blocking nothing are deleted. */
const THROTTLE_COUNTER_AGE_MS = 24 * 3600 * 1000;

/** The named lock of one database's cleanup (LockRepository adds the database's name). */
export const CLEANUP_LOCK = 'oauth2_cleanup';

/** Calls `step` until a batch finds less than a full batch to delete. */
async function drain(step: () => Promise<CleanupBatch>, batchSize: number): Promise<void> {
  for (;;) {
    const { matched } = await step();
    if (matched < batchSize) return;
  }
}

/**
 * Deletes tokens whose access and refresh lifetimes have both passed with the grants this leaves empty,
 * revoked grants (with their tokens) once the retention period is over, authorization codes a day
 * after they expired (with the grants of those never exchanged), stale throttle counters and
 * addresses no longer known, in
 * batches of `batchSize` rows that lock the rows they delete, not the live ones. One process at a time
 * cleans a database up, across workers and hosts; returns null when another is at it.
 */
export async function cleanupTokens({ locks, tokens, grants, throttle, codes, revocations }: Container, options: CleanupOptions, now = new Date()): Promise<CleanupReport | null> {
  return locks.withLock(CLEANUP_LOCK, async () => {
    const { batchSize } = options;
    const report: CleanupReport = { expiredTokens: 0, revokedGrants: 0, emptyGrants: 0, throttleCounters: 0, knownAddresses: 0, expiredCodes: 0, revocations: 0 };
    await drain(async () => {
      const batch = await tokens.removeExpiredTokens(now, batchSize);
      report.expiredTokens += batch.removed;
      report.emptyGrants += batch.emptyGrants;
      return batch;
    }, batchSize);
    const retainedSince = new Date(now.getTime() - options.revokedRetention * 1000);
    await drain(async () => {
      const batch = await grants.removeRevokedGrants(retainedSince, batchSize);
      report.revokedGrants += batch.removed;
      return batch;
    }, batchSize);
    const staleBefore = new Date(now.getTime() - THROTTLE_COUNTER_AGE_MS);
    await drain(async () => {
      const batch = await throttle.removeStaleCounters(staleBefore, now, batchSize);
      report.throttleCounters += batch.removed;
      return batch;
    }, batchSize);
    const codesBefore = new Date(now.getTime() - CODE_RETENTION_MS);
    await drain(async () => {
      const batch = await codes.removeExpiredCodes(codesBefore, batchSize);
      report.expiredCodes += batch.removed;
      report.emptyGrants += batch.emptyGrants;
      return batch;
    }, batchSize);
    const revokedBefore = new Date(now.getTime() - REVOCATION_RETENTION_MS);
    await drain(async () => {
      const batch = await revocations.removeRevocations(revokedBefore, batchSize);
      report.revocations += batch.removed;
      return batch;
    }, batchSize);
    const knownSince = new Date(now.getTime() - options.knownAddressSeconds * 1000);
    await drain(async () => {
      const batch = await throttle.removeKnownAddresses(knownSince, batchSize);
      report.knownAddresses += batch.removed;
      return batch;
    }, batchSize);
    return report;
  });
}
