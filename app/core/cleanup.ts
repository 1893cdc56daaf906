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
  expiredSmsCodes: number;
  revocations: number;
}

/**
 * Authorization codes live 60 s; a spent one is kept a day beyond its expiry, so that a replay in that
 * time still revokes the tokens issued from it.
 */
const CODE_RETENTION_MS = 24 * 3600 * 1000;

/** The revocation feed is read a few seconds back; an hour is far beyond any reader's window. */
const REVOCATION_RETENTION_MS = 3600 * 1000;

/**
 * Throttle counters older than this (longer than any throttle window, the SMS send limits' day
 * included) and blocking nothing are deleted.
 */
const THROTTLE_COUNTER_AGE_MS = 24 * 3600 * 1000;

/** The lock of a database's cleanup: a row of its `named_locks` (LockRepository). */
export const CLEANUP_LOCK = 'cleanup';

/** A removal of dead rows, and the report's count it adds to. */
type Step = [ Exclude<keyof CleanupReport, 'emptyGrants'>, (limit: number) => Promise<CleanupBatch & { emptyGrants?: number }> ];

/**
 * Deletes tokens whose access and refresh lifetimes have both passed with the grants this leaves empty,
 * revoked grants (with their tokens) once the retention period is over, authorization codes a day
 * after they expired (with the grants of those never exchanged), SMS login codes once expired, old
 * revocation-feed entries, stale throttle counters (SMS send counters among them) and addresses no
 * longer known, in batches of `batchSize` rows that lock the rows
 * they delete, not the live ones. One process at a time cleans a database up, across workers and
 * hosts; returns null when another is at it.
 */
export async function cleanupTokens({ locks, tokens, grants, throttle, codes, smsCodes, revocations }: Container, options: CleanupOptions, now = new Date()): Promise<CleanupReport | null> {
  const before = (ms: number) => new Date(now.getTime() - ms);
  const steps: Step[] = [
    [ 'expiredTokens', limit => tokens.removeExpiredTokens(now, limit) ],
    [ 'revokedGrants', limit => grants.removeRevokedGrants(before(options.revokedRetention * 1000), limit) ],
    [ 'throttleCounters', limit => throttle.removeStaleCounters(before(THROTTLE_COUNTER_AGE_MS), now, limit) ],
    [ 'expiredCodes', limit => codes.removeExpiredCodes(before(CODE_RETENTION_MS), limit) ],
    // A spent SMS code needs no keeping: unlike an authorization code, its reuse revokes nothing.
    [ 'expiredSmsCodes', limit => smsCodes.removeExpiredSmsCodes(now, limit) ],
    [ 'revocations', limit => revocations.removeRevocations(before(REVOCATION_RETENTION_MS), limit) ],
    [ 'knownAddresses', limit => throttle.removeKnownAddresses(before(options.knownAddressSeconds * 1000), limit) ],
  ];
  return locks.withLock(CLEANUP_LOCK, async () => {
    const report: CleanupReport = { expiredTokens: 0, revokedGrants: 0, emptyGrants: 0, throttleCounters: 0, knownAddresses: 0, expiredCodes: 0, expiredSmsCodes: 0, revocations: 0 };
    for (const [ count, remove ] of steps) {
      // Until a batch finds less than a full batch to delete.
      for (;;) {
        const batch = await remove(options.batchSize);
        report[count] += batch.removed;
        report.emptyGrants += batch.emptyGrants ?? 0;
        if (batch.matched < options.batchSize) break;
      }
    }
    return report;
  });
}
