import type { RDSClient } from '@eggjs/rds';
import { splitList } from '../lib/token';

export interface NewToken {
  grantId: string;
  accessTokenHash: string;
  accessTokenExpiresAt: Date;
  refreshTokenHash: string | null;
  refreshTokenExpiresAt: Date | null;
  clientId: number;
  userId: number | null;
  scope: string[];
}

/** A live access token with the user and client it was issued to. */
export interface AccessTokenGrant {
  accessTokenExpiresAt: Date;
  scope: string[];
  grantId: string;
  client: { id: number; clientId: string };
  user: { id: number; username: string; roles: string[] } | null;
}

interface AccessTokenRow {
  access_token_expires_at: Date;
  scope: string;
  grant_id: string;
  client_pk: number;
  client_id: string;
  user_pk: number | null;
  username: string | null;
  roles: string | null;
}

export class TokenRepository {
  constructor(private readonly db: RDSClient) {}

  async saveToken(token: NewToken): Promise<void> {
    await this.db.query(
      `INSERT INTO oauth_tokens
        (grant_id, access_token_hash, access_token_expires_at, refresh_token_hash, refresh_token_expires_at,
         client_id, user_id, scope)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        token.grantId, token.accessTokenHash, token.accessTokenExpiresAt, token.refreshTokenHash,
        token.refreshTokenExpiresAt, token.clientId, token.userId, token.scope.join(' '),
      ],
    );
  }

  /**
   * The access token with this hash, unless it was revoked or its user or client is disabled.
   * Expiry is left to the caller, so that an expired token can be told apart.
   */
  async findAccessToken(accessTokenHash: string): Promise<AccessTokenGrant | null> {
    const row: AccessTokenRow | null = await this.db.queryOne(
      `SELECT t.access_token_expires_at, t.scope, t.grant_id,
              c.id AS client_pk, c.client_id, u.id AS user_pk, u.username, u.roles
         FROM oauth_tokens t
         JOIN oauth_clients c ON c.id = t.client_id AND c.enabled = 1
         LEFT JOIN users u ON u.id = t.user_id
        WHERE t.access_token_hash = ? AND t.revoked_at IS NULL
          AND (t.user_id IS NULL OR u.enabled = 1)`,
      [ accessTokenHash ],
    );
    if (!row) return null;
    return {
      accessTokenExpiresAt: row.access_token_expires_at,
      scope: splitList(row.scope),
      grantId: row.grant_id,
      client: { id: Number(row.client_pk), clientId: row.client_id },
      user: row.user_pk === null ? null : { id: Number(row.user_pk), username: row.username ?? '', roles: splitList(row.roles) },
    };
  }
}
