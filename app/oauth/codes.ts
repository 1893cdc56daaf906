import type { Application } from 'egg';
import type { AuthorizationCode } from 'oauth2-server';
import { InvalidGrantError } from 'oauth2-server';
import { resolveRedirectUri } from '../core/redirectUris';
import { generateGrantId, hashToken } from '../core/token';
import type { OAuthClient } from '../repository/ClientRepository';
import type { EngineClient, GrantedPrincipal } from './principals';

/** What the authorize step knows of the signed-in user: the principal, and when it logged in. */
export type AuthorizingUser = GrantedPrincipal & { kind: 'user'; authTime: Date };

/**
 * Authorization codes (RFC 6749 §4.1.2, RFC 7636): stored as SHA-256, single use, each bound to its
 * client, redirect URI, PKCE challenge, scope, resource and the grant its tokens will belong to. A
 * code used twice revokes that grant: every token issued from it (§4.1.2 "SHOULD revoke").
 */
export class AuthorizationCodes {
  constructor(private readonly app: Application) {}

  async save(code: AuthorizationCode, client: EngineClient, user: AuthorizingUser, resource: string | undefined): Promise<AuthorizationCode> {
    await this.app.container.codes.saveAuthorizationCode({
      codeHash: hashToken(code.authorizationCode),
      expiresAt: code.expiresAt,
      grantId: generateGrantId(),
      clientId: client.pk,
      userId: user.id,
      redirectUri: code.redirectUri,
      scope: code.scope ?? [],
      resource: resource ?? null,
      codeChallenge: code.codeChallenge ?? null,
      authTime: user.authTime,
    });
    return { ...code, client, user };
  }

  /**
   * The code as the engine checks it, or null (invalid_grant). Another client's code is refused
   * without consequence; a spent one revokes its grant. A `redirect_uri` other than the
   * authorization request's is invalid_grant (RFC 6749 §5.2; the engine would say invalid_request).
   */
  async find(code: string, client: OAuthClient | undefined, redirectUri: string | undefined): Promise<AuthorizationCode | null> {
    const { app } = this;
    const record = await app.container.codes.findAuthorizationCode(hashToken(code));
    if (!record || !client || record.clientId !== client.id) return null;
    if (record.consumedAt) {
      await this.revokeForReuse(record.grantId);
      return null;
    }
    // §4.1.3: required when the authorization request had one; a client with one registered URI may leave both out.
    if (resolveRedirectUri(client.redirectUris, redirectUri) !== record.redirectUri) throw new InvalidGrantError('Invalid grant: `redirect_uri` differs from the authorization request\'s');
    const user = await app.container.users.findUserById(record.userId);
    if (!user?.enabled) return null;
    return {
      authorizationCode: code,
      expiresAt: record.expiresAt,
      // Checked above; the engine checks it again against the request's.
      redirectUri: redirectUri ?? '',
      scope: record.scope,
      client: { id: client.clientId, grants: client.grants },
      user: { kind: 'user', ...user, grantId: record.grantId, authTime: record.authTime, resource: record.resource },
      codeChallenge: record.codeChallenge ?? undefined,
      codeChallengeMethod: record.codeChallenge ? 'S256' : undefined,
    };
  }

  /**
   * Spends the code, once (an atomic conditional UPDATE). The loser of two racing exchanges revokes
   * the grant, so that the winner's tokens die too: one of the two was not the client.
   */
  async consume(code: AuthorizationCode): Promise<boolean> {
    const { app } = this;
    if (await app.container.codes.consumeAuthorizationCode(hashToken(code.authorizationCode), new Date())) return true;
    await this.revokeForReuse((code.user as GrantedPrincipal).grantId as string);
    return false;
  }

  private async revokeForReuse(grantId: string): Promise<void> {
    await this.app.container.grants.revokeGrant(grantId, 'code_reuse', new Date());
    this.app.audit('code_reuse', { grantId });
  }
}
