import type { Application } from 'egg';
import { decodeJwt } from 'jose';
import type { Token } from 'oauth2-server';
import { InvalidGrantError } from 'oauth2-server';
import { generateGrantId, hashToken } from '../core/token';
import type { OAuthClient } from '../repository/ClientRepository';
import type { NewToken } from '../repository/TokenRepository';
import { isDeadlock } from '../repository/retry';
import { isUsable } from './tokenState';
import { requestedResource, tokenAudience } from './accessTokens';
import { type EngineClient, type GrantedPrincipal, type SavedToken, type StoredRefreshToken, principalOf } from './principals';

/**
 * Refresh rotation (RFC 6749 §6, RFC 9700 §4.14.2): a refresh token works once, and every login keeps
 * one chain of refresh tokens. Presenting a spent one is taken as theft and revokes the whole grant,
 * unless it was spent within the grace period (two tabs of one browser refreshing at once): then the
 * late request gets an access token of the same grant and no refresh token, so the chain does not fork.
 */
export class RefreshRotation {
  constructor(private readonly app: Application) {}

  /**
   * The refresh token as the engine needs it, or null (invalid_grant). The client is checked before
   * reuse detection: another client presenting a spent token learns nothing and revokes nothing.
   * (Only rotation sets a token's revoked_at; logout and the like revoke the grant.)
   */
  async find(refreshToken: string, client: OAuthClient | undefined): Promise<StoredRefreshToken | null> {
    const record = await this.app.container.tokens.findTokenByRefreshTokenHash(hashToken(refreshToken));
    if (!record || !client || record.client.id !== client.id || !isUsable({ ...record, revokedAt: null })) return null;
    const withinGrace = record.revokedAt !== null && this.isWithinGrace(record.revokedAt);
    if (record.revokedAt && !withinGrace) {
      await this.revokeForReuse(record.grantId);
      return null;
    }
    return {
      refreshToken,
      refreshTokenExpiresAt: record.refreshTokenExpiresAt ?? undefined,
      // RFC 6749 §6: the refresh token's scope is the login's, whatever earlier refreshes narrowed.
      scope: record.grantScope,
      client: { id: record.client.clientId, grants: [] },
      user: {
        ...principalOf(record),
        grantId: record.grantId,
        spends: { tokenId: record.id, withinGrace },
        resource: record.grantResource,
        authTime: record.grantAuthTime ?? undefined,
      },
    };
  }

  /**
   * Stores only SHA-256 of each token. A login starts a grant; a refresh continues its grant, spending
   * the old refresh token in the same transaction. The engine makes a refresh token for every password
   * grant: it is issued only to clients registered for refresh_token.
   */
  async save(token: Token, client: EngineClient, user: GrantedPrincipal): Promise<SavedToken> {
    const { app } = this;
    const scope = token.scope ?? [];
    const { spends } = user;
    let refreshToken = client.grants.includes('refresh_token') && !spends?.withinGrace ? token.refreshToken : undefined;
    const grantId = user.grantId ?? generateGrantId();
    const userId = user.kind === 'user' ? user.id : null;
    const resource = requestedResource(app);
    // A JWT carries its own expiry: the stored one must be the same (the engine computed another, a moment apart).
    const accessTokenExpiresAt = client.accessTokenFormat === 'jwt'
      ? new Date((decodeJwt(token.accessToken).exp as number) * 1000)
      : token.accessTokenExpiresAt as Date;
    const newToken: NewToken = {
      grantId,
      accessTokenHash: hashToken(token.accessToken),
      accessTokenExpiresAt,
      refreshTokenHash: refreshToken ? hashToken(refreshToken) : null,
      refreshTokenExpiresAt: refreshToken ? token.refreshTokenExpiresAt ?? null : null,
      clientId: client.pk,
      userId,
      scope,
      audience: tokenAudience(client, user, resource),
    };
    if (!user.grantId) {
      const grant = { id: grantId, clientId: client.pk, userId, scope, resource: resource ?? null, authTime: user.authTime ?? null };
      await app.container.tokens.saveToken(newToken, { grant });
    } else if (spends && !spends.withinGrace) {
      refreshToken = await this.saveRotation(newToken, spends.tokenId) ? refreshToken : undefined;
    } else {
      await app.container.tokens.saveToken(newToken);
    }
    if (spends) {
      app.audit('token_refresh', { clientId: client.id, userId, grantId, reason: refreshToken ? undefined : 'within_grace_period' });
    }
    return {
      accessToken: token.accessToken,
      accessTokenExpiresAt,
      refreshToken,
      refreshTokenExpiresAt: refreshToken ? token.refreshTokenExpiresAt : undefined,
      // RFC 6749 §5.1: omit an empty scope rather than send "".
      scope: scope.length > 0 ? scope : undefined,
      client: { id: client.id, grants: client.grants },
      user: { kind: user.kind },
      // The engine would compute it after the save, and floor it: a 2 s token would say 1.
      expires_in: client.accessTokenLifetime ?? app.config.oAuth2Server.accessTokenLifetime ?? 3600,
    };
  }

  /**
   * Saves the next token of a grant and spends the old one in one transaction, once only. Returns
   * whether the new token carries the refresh token: a request that lost the race to spend it within
   * the grace period gets an access token only.
   *
   * On a Galera cluster, racing refreshes on two nodes each spend the token locally; all but the first
   * to commit fail certification (1213) and their retries find it spent. One still in conflict after
   * every retry has lost too, and is answered like any loser (RFC 6749 §5.2 invalid_grant, never a 5xx);
   * it revokes the grant only when the token is indeed spent, not when it conflicted with something else.
   */
  private async saveRotation(newToken: NewToken, tokenId: number): Promise<boolean> {
    const { tokens } = this.app.container;
    const spent = await tokens.saveToken(newToken, { spends: { tokenId, at: new Date() } }).catch(err => {
      if (isDeadlock(err)) return null;
      throw err;
    });
    if (spent) return true;
    const revocation = await tokens.findRevocation(tokenId);
    if (revocation && this.isWithinGrace(revocation.revokedAt)) {
      await tokens.saveToken({ ...newToken, refreshTokenHash: null, refreshTokenExpiresAt: null });
      return false;
    }
    if (revocation || spent === false) await this.revokeForReuse(newToken.grantId);
    throw new InvalidGrantError('Invalid grant: refresh token is invalid');
  }

  private isWithinGrace(spentAt: Date): boolean {
    return Date.now() - spentAt.getTime() < this.app.config.oauth.refreshGracePeriod * 1000;
  }

  private async revokeForReuse(grantId: string): Promise<void> {
    await this.app.container.grants.revokeGrant(grantId, 'reuse', new Date());
    this.app.audit('refresh_reuse', { grantId });
  }
}
