import type { RDSClient } from '@eggjs/rds';
import { isDeadlock, retryTransaction } from './retry';
import type { CleanupBatch } from './cleanupBatch';
import { splitList } from './columns';

export interface NewAuthorizationCode {
  codeHash: string;
  expiresAt: Date;
  grantId: string;
  clientId: number;
  userId: number;
  redirectUri: string;
  scope: string[];
  resource: string | null;
  codeChallenge: string | null;
  authTime: Date;
}

export interface AuthorizationCodeRecord extends NewAuthorizationCode {
  consumedAt: Date | null;
}

interface CodeRow {
  code_hash: string;
  expires_at: Date;
  consumed_at: Date | null;
  grant_id: string;
  client_id: number;
  user_id: number;
  redirect_uri: string;
  scope: string;
  resource: string | null;
  code_challenge: string | null;
  auth_time: Date;
}

export class AuthorizationCodeRepository {
  constructor(private readonly db: RDSClient) {}

  /** Stores a code with the grant it starts, in one transaction (the grant exists before any exchange). */
  async saveAuthorizationCode(code: NewAuthorizationCode): Promise<void> {
    await retryTransaction(() => this.db.beginTransactionScope(async conn => {
      await conn.query('INSERT INTO oauth_grants (id, client_id, user_id, scope, resource, auth_time) VALUES (?, ?, ?, ?, ?, ?)',
        [ code.grantId, code.clientId, code.userId, code.scope.join(' '), code.resource, code.authTime ]);
      await conn.query(
        `INSERT INTO oauth_authorization_codes
          (code_hash, expires_at, grant_id, client_id, user_id, redirect_uri, scope, resource, code_challenge, auth_time)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          code.codeHash, code.expiresAt, code.grantId, code.clientId, code.userId, code.redirectUri,
          code.scope.join(' '), code.resource, code.codeChallenge, code.authTime,
        ],
      );
    }));
  }

  async findAuthorizationCode(codeHash: string): Promise<AuthorizationCodeRecord | null> {
    const row: CodeRow | null = await this.db.queryOne('SELECT * FROM oauth_authorization_codes WHERE code_hash = ?', [ codeHash ]);
    return row ? {
      codeHash: row.code_hash,
      expiresAt: row.expires_at,
      consumedAt: row.consumed_at,
      grantId: row.grant_id,
      clientId: Number(row.client_id),
      userId: Number(row.user_id),
      redirectUri: row.redirect_uri,
      scope: splitList(row.scope),
      resource: row.resource,
      codeChallenge: row.code_challenge,
      authTime: row.auth_time,
    } : null;
  }

  /**
   * Spends the code: true for the one caller that did, false when it was spent already. On a Galera
   * cluster two exchanges on two nodes both change the row locally and one fails certification; its
   * new attempt finds the code spent. One that still conflicts after every attempt lost to a writer
   * of this row, which can only be another exchange (or the cleanup deleting it): false too.
   */
  async consumeAuthorizationCode(codeHash: string, at: Date): Promise<boolean> {
    try {
      const result = await retryTransaction(() => this.db.query(
        'UPDATE oauth_authorization_codes SET consumed_at = ? WHERE code_hash = ? AND consumed_at IS NULL', [ at, codeHash ]));
      return result.affectedRows === 1;
    } catch (err) {
      if (isDeadlock(err)) return false;
      throw err;
    }
  }

  /**
   * Deletes up to `limit` codes that expired before `before` (see CleanupBatch), with the grants of
   * those never exchanged: a grant is created with its code and holds no token until the exchange.
   */
  async removeExpiredCodes(before: Date, limit: number): Promise<CleanupBatch & { emptyGrants: number }> {
    const found: Array<{ code_hash: string; grant_id: string }> = await this.db.query(
      'SELECT code_hash, grant_id FROM oauth_authorization_codes FORCE INDEX (idx_expires_at) WHERE expires_at < ? LIMIT ?',
      [ before, limit ],
    );
    if (found.length === 0) return { matched: 0, removed: 0, emptyGrants: 0 };
    return retryTransaction(() => this.db.beginTransactionScope(async conn => {
      const codes = await conn.query(
        `DELETE c FROM oauth_authorization_codes c FORCE INDEX (PRIMARY)
          WHERE c.code_hash IN (?) AND c.expires_at < ?`,
        [ found.map(row => row.code_hash), before ],
      );
      const grants = await conn.query(
        `DELETE FROM oauth_grants
          WHERE id IN (?)
            AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id)
            AND NOT EXISTS (SELECT 1 FROM oauth_authorization_codes c WHERE c.grant_id = oauth_grants.id)`,
        [[ ...new Set(found.map(row => row.grant_id)) ]],
      );
      return { matched: found.length, removed: codes.affectedRows, emptyGrants: grants.affectedRows };
    }));
  }
}
