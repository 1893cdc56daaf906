import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';
import type { TaggedCache } from '../infra/taggedCache';
import type { CleanupBatch } from './cleanupBatch';
import type { User } from './UserRepository';
import { splitList } from './columns';
import { revocationTag } from './RevocationRepository';

export interface NewGrant {
  id: string;
  clientId: number;
  userId: number | null;
  scope: string[];
  /** RFC 8707 resource named at the login. */
  resource: string | null;
  /** When the user authenticated; null for client_credentials. */
  authTime: Date | null;
}

export interface NewToken {
  grantId: string;
  accessTokenHash: string;
  accessTokenExpiresAt: Date;
  refreshTokenHash: string | null;
  refreshTokenExpiresAt: Date | null;
  clientId: number;
  userId: number | null;
  scope: string[];
  /** The access token's `aud` (RFC 8707). */
  audience: string | null;
}

/** A stored token with everything that decides whether it still works. */
export interface TokenRecord {
  id: number;
  grantId: string;
  issuedAt: Date;
  accessTokenExpiresAt: Date;
  refreshTokenExpiresAt: Date | null;
  scope: string[];
  audience: string | null;
  /** The scope of the login: a refresh token's scope, even after refreshes that narrowed the access token's. */
  grantScope: string[];
  /** Set when this token's refresh token was spent (rotation). */
  revokedAt: Date | null;
  grantRevokedAt: Date | null;
  /** The login's resource (RFC 8707) and authentication time, carried over to refreshed tokens. */
  grantResource: string | null;
  grantAuthTime: Date | null;
  client: { id: number; clientId: string; enabled: boolean };
  /** The token's user, as the Bearer routes show it: one query answers both. */
  user: User | null;
}

interface TokenRow {
  id: number;
  grant_id: string;
  gmt_create: Date;
  access_token_expires_at: Date;
  refresh_token_expires_at: Date | null;
  scope: string;
  audience: string | null;
  revoked_at: Date | null;
  grant_revoked_at: Date | null;
  grant_scope: string;
  grant_resource: string | null;
  grant_auth_time: Date | null;
  client_pk: number;
  client_id: string;
  client_enabled: number;
  user_pk: number | null;
  username: string | null;
  email: string | null;
  phone: string | null;
  roles: string | null;
  user_enabled: number | null;
  user_created: Date | null;
}

const SELECT_TOKEN = `
  SELECT t.id, t.grant_id, t.gmt_create, t.access_token_expires_at, t.refresh_token_expires_at, t.scope, t.audience,
         t.revoked_at, g.revoked_at AS grant_revoked_at, g.scope AS grant_scope,
         g.resource AS grant_resource, g.auth_time AS grant_auth_time,
         c.id AS client_pk, c.client_id, c.enabled AS client_enabled,
         u.id AS user_pk, u.username, u.email, u.phone, u.roles, u.enabled AS user_enabled, u.gmt_create AS user_created
    FROM oauth_tokens t
    JOIN oauth_grants g ON g.id = t.grant_id
    JOIN oauth_clients c ON c.id = t.client_id
    LEFT JOIN users u ON u.id = t.user_id`;

/** What revokes a cached token: its grant, its user, its client, its own row (see RevocationRepository). */
export function revocationTagsOf(record: TokenRecord): string[] {
  const tags = [ revocationTag('grant', record.grantId), revocationTag('token', record.id), revocationTag('client', record.client.id) ];
  if (record.user) tags.push(revocationTag('user', record.user.id));
  return tags;
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: Number(row.id),
    grantId: row.grant_id,
    issuedAt: row.gmt_create,
    accessTokenExpiresAt: row.access_token_expires_at,
    refreshTokenExpiresAt: row.refresh_token_expires_at,
    scope: splitList(row.scope),
    audience: row.audience,
    grantScope: splitList(row.grant_scope),
    revokedAt: row.revoked_at,
    grantRevokedAt: row.grant_revoked_at,
    grantResource: row.grant_resource,
    grantAuthTime: row.grant_auth_time,
    client: { id: Number(row.client_pk), clientId: row.client_id, enabled: row.client_enabled === 1 },
    user: row.user_pk === null ? null : {
      id: Number(row.user_pk),
      username: row.username ?? '',
      email: row.email,
      phone: row.phone,
      roles: splitList(row.roles),
      enabled: row.user_enabled === 1,
      createdAt: row.user_created ?? new Date(0),
    },
  };
}

export class TokenRepository {
  constructor(private readonly db: RDSClient, private readonly cache?: TaggedCache<TokenRecord>) {}

  /**
   * Stores a token, in one transaction with what it depends on: with `grant`, the new grant it starts;
   * with `spends`, the spending of the refresh token it replaces (only one caller can spend a token).
   * Returns false, storing nothing, when that refresh token was spent already. The transaction is the
   * stored procedure oauth_save_token (migration 012): one round trip instead of one per statement.
   */
  async saveToken(token: NewToken, options: { grant?: NewGrant; spends?: { tokenId: number; at: Date } } = {}): Promise<boolean> {
    const { grant, spends } = options;
    const [[{ saved }]]: [[{ saved: number }]] = await retryTransaction(() => this.db.query(
      'CALL oauth_save_token(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        token.grantId, grant ? 1 : 0, grant?.scope.join(' ') ?? null, grant?.resource ?? null, grant?.authTime ?? null,
        spends?.tokenId ?? null, spends?.at ?? null,
        token.accessTokenHash, token.accessTokenExpiresAt, token.refreshTokenHash, token.refreshTokenExpiresAt,
        token.clientId, token.userId, token.scope.join(' '), token.audience,
      ],
    ));
    // After the commit: a lookup between a drop and the commit would cache the unspent row again.
    if (saved === 1 && spends) this.cache?.drop(revocationTag('token', spends.tokenId));
    return saved === 1;
  }

  /**
   * The one indexed query of a Bearer check. With `cached`, the worker's token cache may answer
   * (the Bearer routes); introspection and check_token always ask MySQL.
   */
  async findTokenByAccessTokenHash(hash: string, { cached = false } = {}): Promise<TokenRecord | null> {
    const load = () => this.queryToken('t.access_token_hash', hash);
    return cached && this.cache ? this.cache.lookup(hash, load) : load();
  }

  async findTokenByRefreshTokenHash(hash: string): Promise<TokenRecord | null> {
    return this.queryToken('t.refresh_token_hash', hash);
  }

  private async queryToken(column: 't.access_token_hash' | 't.refresh_token_hash', hash: string): Promise<TokenRecord | null> {
    const row: TokenRow | null = await this.db.queryOne(`${SELECT_TOKEN} WHERE ${column} = ?`, [ hash ]);
    return row ? toRecord(row) : null;
  }

  /** When this token was spent (null: it is not). */
  async findRevocation(id: number): Promise<{ revokedAt: Date } | null> {
    const row = await this.db.queryOne('SELECT revoked_at FROM oauth_tokens WHERE id = ?', [ id ]);
    return row?.revoked_at ? { revokedAt: row.revoked_at } : null;
  }

  /**
   * Deletes up to `limit` tokens whose access and refresh lifetimes have both passed, and the grants this
   * leaves without a token. A spent refresh token stays until then, so that its reuse is detected for as
   * long as it could have been used.
   *
   * A DELETE with the expiry condition would lock every row and gap it scans, live tokens included, and
   * hold up the logins and refreshes that write them. So the tokens are found by plain reads through the
   * two ranges of idx_expiry (EXPLAIN: type range, key idx_expiry, both key parts for the first) and
   * deleted by primary key: see CleanupBatch.
   */
  async removeExpiredTokens(now: Date, limit: number): Promise<CleanupBatch & { emptyGrants: number }> {
    const found: Array<{ id: number; grant_id: string }> = await this.db.query(
      `SELECT id, grant_id FROM oauth_tokens FORCE INDEX (idx_expiry)
        WHERE refresh_token_expires_at IS NULL AND access_token_expires_at < ?
        LIMIT ?`,
      [ now, limit ],
    );
    if (found.length < limit) {
      found.push(...await this.db.query(
        `SELECT id, grant_id FROM oauth_tokens FORCE INDEX (idx_expiry)
          WHERE refresh_token_expires_at < ? AND access_token_expires_at < ?
          LIMIT ?`,
        [ now, now, limit - found.length ],
      ));
    }
    if (found.length === 0) return { matched: 0, removed: 0, emptyGrants: 0 };
    // A grant becomes empty only when its last token is deleted, so only this batch's grants are checked;
    // in the same transaction, so that a process stopping in between leaves no empty grant behind. This
    // DELETE has no other index to pick; its subquery is one idx_grant_id lookup per grant (EXPLAIN:
    // DEPENDENT SUBQUERY, ref), where the multi-table form scans both tables when they are small.
    return retryTransaction(() => this.db.beginTransactionScope(async conn => {
      const tokens = await conn.query(
        `DELETE t FROM oauth_tokens t FORCE INDEX (PRIMARY)
          WHERE t.id IN (?) AND t.access_token_expires_at < ? AND (t.refresh_token_expires_at IS NULL OR t.refresh_token_expires_at < ?)`,
        [ found.map(row => row.id), now, now ],
      );
      const grants = await conn.query(
        `DELETE FROM oauth_grants
          WHERE id IN (?) AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id)`,
        [[ ...new Set(found.map(row => row.grant_id)) ]],
      );
      return { matched: found.length, removed: tokens.affectedRows, emptyGrants: grants.affectedRows };
    }));
  }
}
