import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';
import type { CleanupBatch } from './cleanupBatch';

/** What a revocation covers: one grant, every grant of a user or of a client, or one token row. */
export type RevocationKind = 'grant' | 'user' | 'client' | 'token';

/** A revocation as the token cache understands it: the tag of the cached records it ends. */
export function revocationTag(kind: RevocationKind, subject: string | number): string {
  return `${kind}:${subject}`;
}

interface Queryable {
  query(sql: string, values?: unknown[]): Promise<unknown>;
}

export class RevocationRepository {
  constructor(private readonly db: RDSClient) {}

  /**
   * Writes a revocation to the feed, on the connection of the transaction that makes it, as its last
   * statement: created_at is then at most a commit's time before the revocation becomes visible.
   */
  static async saveRevocation(conn: Queryable, kind: RevocationKind, subject: string | number): Promise<void> {
    await conn.query('INSERT INTO oauth_revocations (kind, subject) VALUES (?, ?)', [ kind, String(subject) ]);
  }

  /**
   * The revocations written in the last `seconds` by the database's clock (the clock that set their
   * created_at), each with an id that names it once.
   */
  async listRecentRevocations(seconds: number): Promise<Array<{ id: string; tag: string }>> {
    const rows: Array<{ id: number; created_at: Date; kind: RevocationKind; subject: string }> = await this.db.query(
      `SELECT id, created_at, kind, subject FROM oauth_revocations FORCE INDEX (idx_created_at)
        WHERE created_at >= NOW(3) - INTERVAL ? MICROSECOND`,
      [ Math.round(seconds * 1e6) ],
    );
    // The id with its time: an id alone may come again (a table emptied and refilled).
    return rows.map(row => ({ id: `${row.id}@${row.created_at.getTime()}`, tag: revocationTag(row.kind, row.subject) }));
  }

  /** Deletes up to `limit` revocations written before `before` (see CleanupBatch). */
  async removeRevocations(before: Date, limit: number): Promise<CleanupBatch> {
    const found: Array<{ id: number }> = await this.db.query(
      'SELECT id FROM oauth_revocations FORCE INDEX (idx_created_at) WHERE created_at < ? LIMIT ?', [ before, limit ]);
    if (found.length === 0) return { matched: 0, removed: 0 };
    const result = await retryTransaction(() => this.db.query(
      'DELETE r FROM oauth_revocations r FORCE INDEX (PRIMARY) WHERE r.id IN (?) AND r.created_at < ?',
      [ found.map(row => row.id), before ],
    ));
    return { matched: found.length, removed: result.affectedRows };
  }
}
