import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';
import type { TaggedCache } from '../infra/taggedCache';
import type { TokenRecord } from './TokenRepository';
import type { CleanupBatch } from './cleanupBatch';
import { type RevocationKind, RevocationRepository, revocationTag } from './RevocationRepository';

/** Why a grant stopped working; stored in oauth_grants.revoke_reason. */
export type RevokeReason = 'logout' | 'reuse' | 'code_reuse' | 'password_change' | 'user_disabled' | 'client_disabled' | 'admin';

/** A login that can still be used: at least one of its tokens is unrevoked and unexpired. */
export interface LiveGrant {
  id: string;
  clientId: string;
  createdAt: Date;
  lastIssuedAt: Date;
  expiresAt: Date;
}

export class GrantRepository {
  constructor(private readonly db: RDSClient, private readonly cache?: TaggedCache<TokenRecord>) {}

  /** Revokes one grant: every token of it stops working. False when it was already revoked. */
  async revokeGrant(grantId: string, reason: RevokeReason, now: Date): Promise<boolean> {
    return await this.revoke('grant', grantId, 'id = ?', reason, now) === 1;
  }

  /** Revokes every live grant of a user; returns how many. */
  async revokeGrantsOfUser(userId: number, reason: RevokeReason, now: Date): Promise<number> {
    return this.revoke('user', userId, 'user_id = ?', reason, now);
  }

  /** Revokes every live grant of a client (oauth_clients.id); returns how many. */
  async revokeGrantsOfClient(clientPk: number, reason: RevokeReason, now: Date): Promise<number> {
    return this.revoke('client', clientPk, 'client_id = ?', reason, now);
  }

  /**
   * Revokes the live grants the condition selects and, in the same transaction, tells the revocation
   * feed (every worker's token cache); this worker's cache forgets them once it has committed.
   */
  private async revoke(kind: RevocationKind, subject: string | number, condition: string, reason: RevokeReason, now: Date): Promise<number> {
    const revoked = await retryTransaction(() => this.db.beginTransactionScope(async conn => {
      const result = await conn.query(
        `UPDATE oauth_grants SET revoked_at = ?, revoke_reason = ? WHERE ${condition} AND revoked_at IS NULL`,
        [ now, reason, subject ],
      );
      if (result.affectedRows > 0) await RevocationRepository.saveRevocation(conn, kind, subject);
      return result.affectedRows as number;
    }));
    if (revoked > 0) this.cache?.drop(revocationTag(kind, subject));
    return revoked;
  }

  async listLiveGrantsOfUser(userId: number, now: Date): Promise<LiveGrant[]> {
    const rows = await this.db.query(
      `SELECT g.id, c.client_id, g.gmt_create, MAX(t.gmt_create) AS last_issued_at,
              MAX(GREATEST(t.access_token_expires_at, COALESCE(t.refresh_token_expires_at, t.access_token_expires_at))) AS expires_at
         FROM oauth_grants g
         JOIN oauth_clients c ON c.id = g.client_id
         JOIN oauth_tokens t ON t.grant_id = g.id AND t.revoked_at IS NULL
        WHERE g.user_id = ? AND g.revoked_at IS NULL
          AND (t.access_token_expires_at > ? OR t.refresh_token_expires_at > ?)
        GROUP BY g.id, c.client_id, g.gmt_create
        ORDER BY g.gmt_create`,
      [ userId, now, now ],
    );
    return rows.map((row: { id: string; client_id: string; gmt_create: Date; last_issued_at: Date; expires_at: Date }) => ({
      id: row.id,
      clientId: row.client_id,
      createdAt: row.gmt_create,
      lastIssuedAt: row.last_issued_at,
      expiresAt: row.expires_at,
    }));
  }

  /**
   * Deletes up to `limit` grants revoked before `before`, with their tokens (foreign key cascade). Found
   * by a plain read of idx_revoked_at (EXPLAIN: type range), deleted by primary key: see CleanupBatch.
   */
  async removeRevokedGrants(before: Date, limit: number): Promise<CleanupBatch> {
    const found: Array<{ id: string }> = await this.db.query(
      'SELECT id FROM oauth_grants FORCE INDEX (idx_revoked_at) WHERE revoked_at < ? LIMIT ?',
      [ before, limit ],
    );
    if (found.length === 0) return { matched: 0, removed: 0 };
    const result = await retryTransaction(() => this.db.query(
      'DELETE g FROM oauth_grants g FORCE INDEX (PRIMARY) WHERE g.id IN (?) AND g.revoked_at < ?',
      [ found.map(row => row.id), before ],
    ));
    return { matched: found.length, removed: result.affectedRows };
  }
}
