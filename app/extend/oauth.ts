import type { Application } from 'egg';
import type {
  ClientCredentialsModel, Client, Falsey, PasswordModel, RefreshToken, RefreshTokenModel, Token, User as EngineUser,
} from 'oauth2-server';
import { InvalidGrantError } from 'oauth2-server';
import type { NewToken, TokenRecord } from '../repository/TokenRepository';
import type { User } from '../repository/UserRepository';
import { generateGrantId, generateToken, hashToken } from '../core/token';
import { isUsable } from '../oauth/tokenState';

/** The client as the engine carries it between model calls: no secret hash. */
export interface EngineClient extends Client {
  id: string;
  pk: number;
  grants: string[];
  scopes: string[];
  defaultScope: string[] | null;
}

/** Who a token speaks for: a user (password grant), or the client itself (client_credentials). */
export type Principal =
  | ({ kind: 'user' } & User)
  | { kind: 'client'; clientId: string };

/**
 * The engine hands the user of getRefreshToken() on to saveToken(): on a refresh it carries the grant
 * (the login) that the new token continues, and the token whose refresh token it spends.
 */
type GrantedPrincipal = Principal & {
  grantId?: string;
  /** `withinGrace`: already spent moments ago by another request of the same login (two tabs). */
  spends?: { tokenId: number; withinGrace: boolean };
};

/** What authenticate() leaves in ctx.state.oauth.token. */
export interface AuthenticatedToken extends Token {
  accessTokenExpiresAt: Date;
  scope: string[];
  grantId: string;
  user: Principal;
}

interface StoredRefreshToken extends RefreshToken {
  user: GrantedPrincipal;
}

function principalOf(record: TokenRecord): Principal {
  return record.user ? { kind: 'user', ...record.user } : { kind: 'client', clientId: record.client.clientId };
}

/**
 * The egg-oauth2-server model: a thin mapping from the @node-oauth/oauth2-server interface to the
 * repositories. egg-oauth2-server builds ONE instance with the first request's ctx and keeps it for
 * the life of the worker, so this class uses only `app` and keeps no per-request state.
 */
export default (app: Application) => class Model implements PasswordModel, RefreshTokenModel, ClientCredentialsModel {
  async getClient(clientId: string, clientSecret: string | null): Promise<EngineClient | Falsey> {
    // Every grant this server runs authenticates its client (RFC 6749 §2.3.1).
    if (!clientSecret) return null;
    const client = await app.container.accounts.authenticateClient(clientId, clientSecret);
    if (!client) return null;
    return {
      id: client.clientId,
      pk: client.id,
      grants: client.grants,
      scopes: client.scopes,
      defaultScope: client.defaultScope,
      redirectUris: client.redirectUris,
      accessTokenLifetime: client.accessTokenLifetime ?? undefined,
      refreshTokenLifetime: client.refreshTokenLifetime ?? undefined,
    };
  }

  async getUser(username: string, password: string): Promise<Principal | Falsey> {
    const result = await app.container.accounts.authenticateUser(username, password);
    // For loginGuard, which throttles and audits the request once the engine has answered.
    const ctx = app.currentContext;
    if (ctx) ctx.state.loginOutcome = result;
    if ('failure' in result) return null;
    return { kind: 'user', ...result.user };
  }

  /** RFC 6749 §4.4: the client acts for itself. */
  async getUserFromClient(client: EngineClient): Promise<Principal> {
    return { kind: 'client', clientId: client.id };
  }

  /**
   * RFC 6749 §3.3: a requested scope must be within the client's scopes; a request without scope gets
   * the client's default scope (all of its scopes when it has no default).
   */
  async validateScope(_user: EngineUser, client: EngineClient, scope?: string[]): Promise<string[] | Falsey> {
    if (!scope || scope.length === 0) return client.defaultScope ?? client.scopes;
    return scope.every(s => client.scopes.includes(s)) ? scope : false;
  }

  /** authenticate({ scope }): the token must hold every scope the route demands (RFC 6750 §3.1). */
  async verifyScope(token: Token, scope: string[]): Promise<boolean> {
    return scope.every(s => (token.scope ?? []).includes(s));
  }

  async generateAccessToken(): Promise<string> {
    return generateToken();
  }

  async generateRefreshToken(): Promise<string> {
    return generateToken();
  }

  /**
   * Stores only SHA-256 of each token. A login starts a grant; a refresh continues its grant. The
   * engine makes a refresh token for every password grant: it is issued only to clients that may use it.
   */
  async saveToken(token: Token, client: EngineClient, user: GrantedPrincipal): Promise<Token> {
    const scope = token.scope ?? [];
    const refreshToken = client.grants.includes('refresh_token') ? token.refreshToken : undefined;
    const grantId = user.grantId ?? generateGrantId();
    const userId = user.kind === 'user' ? user.id : null;
    const newToken = {
      grantId,
      accessTokenHash: hashToken(token.accessToken),
      accessTokenExpiresAt: token.accessTokenExpiresAt as Date,
      refreshTokenHash: refreshToken ? hashToken(refreshToken) : null,
      refreshTokenExpiresAt: refreshToken ? token.refreshTokenExpiresAt ?? null : null,
      clientId: client.pk,
      userId,
      scope,
    };
    const { spends } = user;
    if (!user.grantId) {
      await app.container.tokens.saveToken(newToken, { grant: { id: grantId, clientId: client.pk, userId, scope } });
    } else if (spends && !spends.withinGrace) {
      await this.saveRotation(newToken, spends.tokenId);
    } else {
      await app.container.tokens.saveToken(newToken);
    }
    if (spends) {
      app.audit('token_refresh', { clientId: client.id, userId, grantId, reason: spends.withinGrace ? 'within_grace_period' : undefined });
    }
    return {
      accessToken: token.accessToken,
      accessTokenExpiresAt: token.accessTokenExpiresAt,
      refreshToken,
      refreshTokenExpiresAt: refreshToken ? token.refreshTokenExpiresAt : undefined,
      // RFC 6749 §5.1: omit an empty scope rather than send "".
      scope: scope.length > 0 ? scope : undefined,
      client: { id: client.id, grants: client.grants },
      user: { kind: user.kind },
    };
  }

  async getAccessToken(accessToken: string): Promise<AuthenticatedToken | Falsey> {
    const record = await app.container.tokens.findTokenByAccessTokenHash(hashToken(accessToken));
    if (!record || !isUsable(record)) return null;
    return {
      accessToken,
      accessTokenExpiresAt: record.accessTokenExpiresAt,
      scope: record.scope,
      grantId: record.grantId,
      client: { id: record.client.clientId, grants: [] },
      user: principalOf(record),
    };
  }

  /**
   * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): a refresh token works once. Presenting a spent one
   * is taken as theft and revokes its whole grant, unless it was spent within the grace period.
   * (Only rotation sets a token's revoked_at; logout and the like revoke the grant.)
   */
  async getRefreshToken(refreshToken: string): Promise<StoredRefreshToken | Falsey> {
    const record = await app.container.tokens.findTokenByRefreshTokenHash(hashToken(refreshToken));
    if (!record || !isUsable({ ...record, revokedAt: null })) return null;
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
      user: { ...principalOf(record), grantId: record.grantId, spends: { tokenId: record.id, withinGrace } },
    };
  }

  /**
   * The engine spends the refresh token here, before it checks the scope and saves the new pair. We
   * spend it in saveToken's transaction instead, with the new pair: a refresh that fails on the way
   * (a narrower scope refused, the database gone) leaves the refresh token usable.
   */
  async revokeToken(): Promise<boolean> {
    return true;
  }

  /** Saves the next token of a grant and spends the old one in one transaction, once only. */
  private async saveRotation(newToken: NewToken, tokenId: number): Promise<void> {
    if (await app.container.tokens.saveToken(newToken, { spends: { tokenId, at: new Date() } })) return;
    // Another request spent it between our read and our write: the same rules as a late reuse.
    const revocation = await app.container.tokens.findRevocation(tokenId);
    if (revocation && this.isWithinGrace(revocation.revokedAt)) {
      await app.container.tokens.saveToken(newToken);
      return;
    }
    await this.revokeForReuse(newToken.grantId);
    throw new InvalidGrantError('Invalid grant: refresh token is invalid');
  }

  private isWithinGrace(spentAt: Date): boolean {
    return Date.now() - spentAt.getTime() < app.config.oauth.refreshGracePeriod * 1000;
  }

  private async revokeForReuse(grantId: string): Promise<void> {
    await app.container.grants.revokeGrant(grantId, 'reuse', new Date());
    app.audit('refresh_reuse', { grantId });
  }
};
