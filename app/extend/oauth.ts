import type { Application } from 'egg';
import type { Client, Falsey, PasswordModel, Token, User } from 'oauth2-server';
import { generateGrantId, generateToken, hashToken } from '../lib/token';

/** The client as the engine carries it between model calls: no secret hash. */
export interface EngineClient extends Client {
  id: string;
  pk: number;
  grants: string[];
  scopes: string[];
}

export interface TokenUser extends User {
  id: number;
  username: string;
  roles: string[];
}

/** What authenticate() leaves in ctx.state.oauth.token. */
export interface AuthenticatedToken extends Token {
  accessTokenExpiresAt: Date;
  scope: string[];
  grantId: string;
  user: TokenUser;
}

/**
 * The egg-oauth2-server model: a thin mapping from the @node-oauth/oauth2-server interface to the
 * repositories. egg-oauth2-server builds ONE instance with the first request's ctx and keeps it for
 * the life of the worker, so this class uses only `app` and keeps no per-request state.
 */
export default (app: Application) => class Model implements PasswordModel {
  async getClient(clientId: string, clientSecret: string | null): Promise<EngineClient | Falsey> {
    // Every grant this server runs authenticates its client (RFC 6749 §2.3.1).
    if (!clientSecret) return null;
    const client = await app.services.accounts.authenticateClient(clientId, clientSecret);
    if (!client) return null;
    return {
      id: client.clientId,
      pk: client.id,
      grants: client.grants,
      scopes: client.scopes,
      redirectUris: client.redirectUris,
      accessTokenLifetime: client.accessTokenLifetime ?? undefined,
      refreshTokenLifetime: client.refreshTokenLifetime ?? undefined,
    };
  }

  async getUser(username: string, password: string): Promise<TokenUser | Falsey> {
    const user = await app.services.accounts.authenticateUser(username, password);
    return user && { id: user.id, username: user.username, roles: user.roles };
  }

  /** A requested scope must be within the client's scopes; no request means all of them. */
  async validateScope(_user: User, client: EngineClient, scope?: string[]): Promise<string[] | Falsey> {
    if (!scope || scope.length === 0) return client.scopes;
    return scope.every(s => client.scopes.includes(s)) ? scope : false;
  }

  async generateAccessToken(): Promise<string> {
    return generateToken();
  }

  async generateRefreshToken(): Promise<string> {
    return generateToken();
  }

  /** Stores only SHA-256 of each token; every password login starts a new grant. */
  async saveToken(token: Token, client: EngineClient, user: TokenUser): Promise<Token> {
    const scope = token.scope ?? [];
    await app.services.tokens.saveToken({
      grantId: generateGrantId(),
      accessTokenHash: hashToken(token.accessToken),
      accessTokenExpiresAt: token.accessTokenExpiresAt as Date,
      refreshTokenHash: token.refreshToken ? hashToken(token.refreshToken) : null,
      refreshTokenExpiresAt: token.refreshToken ? token.refreshTokenExpiresAt ?? null : null,
      clientId: client.pk,
      userId: user.id,
      scope,
    });
    return {
      accessToken: token.accessToken,
      accessTokenExpiresAt: token.accessTokenExpiresAt,
      refreshToken: token.refreshToken,
      refreshTokenExpiresAt: token.refreshTokenExpiresAt,
      // RFC 6749 §5.1: omit an empty scope rather than send "".
      scope: scope.length > 0 ? scope : undefined,
      client: { id: client.id, grants: client.grants },
      user: { id: user.id },
    };
  }

  async getAccessToken(accessToken: string): Promise<AuthenticatedToken | Falsey> {
    const found = await app.services.tokens.findAccessToken(hashToken(accessToken));
    if (!found?.user) return null;
    return {
      accessToken,
      accessTokenExpiresAt: found.accessTokenExpiresAt,
      scope: found.scope,
      grantId: found.grantId,
      client: { id: found.client.clientId, grants: [] },
      user: found.user,
    };
  }
};
