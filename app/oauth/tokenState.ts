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
 * What ended this token other than time, or null when nothing has: it or its grant is revoked, or its
 * client or user is disabled.
 */
export function unusableBecause(record: TokenRecord): string | null {
  if (record.revokedAt !== null || record.grantRevokedAt !== null) return 'revoked';
  if (!record.client.enabled) return 'client disabled';
  if (record.user !== null && !record.user.enabled) return 'user disabled';
  return null;
}

/** Whether nothing but time can end this token. */
export function isUsable(record: TokenRecord): boolean {
  return unusableBecause(record) === null;
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
