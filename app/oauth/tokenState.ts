import type { OAuthClient } from '../repository/ClientRepository';
import type { TokenRecord, TokenRepository } from '../repository/TokenRepository';
import { hashToken } from '../core/token';

export type TokenKind = 'access_token' | 'refresh_token';

export interface FoundToken {
  kind: TokenKind;
  record: TokenRecord;
}

/**
 * Finds a token by its value, as an access token or a refresh token. The hint (RFC 7009 §2.1,
 * RFC 7662 §2.1) only decides which is looked up first; an unknown hint is ignored.
 */
export async function findToken(tokens: TokenRepository, value: string, hint?: string): Promise<FoundToken | null> {
  const hash = hashToken(value);
  const order: TokenKind[] = hint === 'refresh_token' ? [ 'refresh_token', 'access_token' ] : [ 'access_token', 'refresh_token' ];
  for (const kind of order) {
    const record = kind === 'access_token'
      ? await tokens.findTokenByAccessTokenHash(hash)
      : await tokens.findTokenByRefreshTokenHash(hash);
    if (record) return { kind, record };
  }
  return null;
}

/**
 * Whether nothing but time can end this token: neither it nor its grant is revoked, and its client
 * and user (if any) are enabled.
 */
export function isUsable(record: TokenRecord): boolean {
  return record.revokedAt === null
    && record.grantRevokedAt === null
    && record.client.enabled
    && (record.user === null || record.user.enabled);
}

export function expiresAt({ kind, record }: FoundToken): Date | null {
  return kind === 'access_token' ? record.accessTokenExpiresAt : record.refreshTokenExpiresAt;
}

/** Usable and not expired. */
export function isActive(found: FoundToken, now = new Date()): boolean {
  const expiry = expiresAt(found);
  return isUsable(found.record) && expiry !== null && expiry > now;
}

/** RFC 7662 §4 / our policy: a client sees its own tokens; a resource server sees every token. */
export function visibleTo(client: OAuthClient, found: FoundToken): boolean {
  return client.resourceServer || found.record.client.id === client.id;
}

/** A time as the seconds since the epoch of JWT-style claims (`exp`, `iat`). */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
