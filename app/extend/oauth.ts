import type { Application } from 'egg';
import type {
  AuthorizationCode, AuthorizationCodeModel, ClientCredentialsModel, Falsey, PasswordModel, RefreshTokenModel, Token,
  User as EngineUser,
} from 'oauth2-server';
import { isRegisteredRedirectUri } from '../core/redirectUris';
import { type AuthorizingUser, AuthorizationCodes } from '../oauth/codes';
import { generateToken, hashToken } from '../core/token';
import { RefreshRotation } from '../oauth/rotation';
import {
  type AuthenticatedToken, type EngineClient, type GrantedPrincipal, type Principal, type SavedToken, type StoredRefreshToken,
  engineClient, principalOf,
} from '../oauth/principals';
import { AccessTokens } from '../oauth/accessTokens';
import { noteTokenProblem } from '../oauth/bearer';
import { unusableBecause } from '../oauth/tokenState';
import type { SmsLoginModel } from '../oauth/passwordOrSmsGrant';
import { authenticateUser } from '../oauth/userAuth';

/**
 * The egg-oauth2-server model: a thin mapping from the @node-oauth/oauth2-server interface onto
 * app/oauth and the repositories. egg-oauth2-server builds ONE instance with the first request's ctx
 * and keeps it for the life of the worker, so this class keeps no per-request state: what belongs to
 * the request (its authenticated client, its address) is read from app.currentContext.
 */
export default (app: Application) => class Model implements PasswordModel, SmsLoginModel, RefreshTokenModel, ClientCredentialsModel, AuthorizationCodeModel {
  private readonly rotation = new RefreshRotation(app);
  private readonly codes = new AuthorizationCodes(app);
  private readonly accessTokens = new AccessTokens(app);

  /**
   * The client that the clientAuth middleware authenticated for this request (RFC 6749 §2.3), or that
   * the authorizeRequest middleware read: the engine's own reading of the credentials is not used again.
   */
  async getClient(): Promise<EngineClient | Falsey> {
    const client = app.currentContext?.state.client;
    return client ? engineClient(client, app.config.oauth.jwt.accessTokenLifetime) : null;
  }

  /** `username` may be the username, the e-mail address or the phone number. */
  async getUser(username: string, password: string): Promise<GrantedPrincipal | Falsey> {
    const ctx = app.currentContext;
    const user = ctx ? await authenticateUser(ctx, username, password) : null;
    return user ? { kind: 'user', ...user, authTime: new Date() } : null;
  }

  /** `grant_type=password&auth_type=sms` (PasswordOrSmsGrant): the phone number and the code sent to it. */
  async getUserBySmsCode(phone: string, code: string): Promise<GrantedPrincipal | Falsey> {
    const ctx = app.currentContext;
    const user = ctx ? await authenticateUser(ctx, phone, code, 'sms') : null;
    return user ? { kind: 'user', ...user, authTime: new Date() } : null;
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

  /** An opaque token, or an RFC 9068 JWT for a client registered for them. */
  async generateAccessToken(client: EngineClient, user: GrantedPrincipal, scope: string[] | undefined): Promise<string> {
    return this.accessTokens.generate(client, user, scope);
  }

  async generateRefreshToken(): Promise<string> {
    return generateToken();
  }

  async generateAuthorizationCode(): Promise<string> {
    return generateToken();
  }

  async saveToken(token: Token, client: EngineClient, user: GrantedPrincipal): Promise<SavedToken> {
    return this.rotation.save(token, client, user);
  }

  /** The Bearer check: the worker's token cache may answer (see the README's Performance section). */
  async getAccessToken(accessToken: string): Promise<AuthenticatedToken | Falsey> {
    const record = await app.container.tokens.findTokenByAccessTokenHash(hashToken(accessToken), { cached: true });
    // For authenticate({ debug }): the engine itself only says "invalid".
    const problem = record ? unusableBecause(record) : 'unknown token';
    if (!record || problem) {
      noteTokenProblem(app.currentContext, problem as string);
      return null;
    }
    return {
      accessToken,
      accessTokenExpiresAt: record.accessTokenExpiresAt,
      scope: record.scope,
      grantId: record.grantId,
      client: { id: record.client.clientId, grants: [] },
      user: principalOf(record),
    };
  }

  async getRefreshToken(refreshToken: string): Promise<StoredRefreshToken | Falsey> {
    return this.rotation.find(refreshToken, app.currentContext?.state.client);
  }

  /** RFC 9700 §4.1.3: exact match, a loopback port excepted (RFC 8252 §7.3). */
  async validateRedirectUri(redirectUri: string, client: EngineClient): Promise<boolean> {
    return isRegisteredRedirectUri(client.redirectUris as string[], redirectUri);
  }

  async saveAuthorizationCode(code: AuthorizationCode, client: EngineClient, user: AuthorizingUser): Promise<AuthorizationCode> {
    return this.codes.save(code, client, user, app.currentContext?.state.authorization?.resource);
  }

  async getAuthorizationCode(code: string): Promise<AuthorizationCode | Falsey> {
    const ctx = app.currentContext;
    return this.codes.find(code, ctx?.state.client, ctx?.state.formParameters?.redirect_uri);
  }

  async revokeAuthorizationCode(code: AuthorizationCode): Promise<boolean> {
    return this.codes.consume(code);
  }

  /**
   * The engine spends the refresh token here, before it checks the scope and saves the new pair. We
   * spend it in saveToken's transaction instead, with the new pair: a refresh that fails on the way
   * (a narrower scope refused, the database gone) leaves the refresh token usable.
   */
  async revokeToken(): Promise<boolean> {
    return true;
  }
};
