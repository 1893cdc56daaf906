import type { Client, RefreshToken, Token } from 'oauth2-server';
import type { AccessTokenFormat, OAuthClient } from '../repository/ClientRepository';
import type { TokenRecord } from '../repository/TokenRepository';
import type { User } from '../repository/UserRepository';

/*
 * What the engine (@node-oauth/oauth2-server) carries between the model's calls, and how our records
 * become it: the client, who a token speaks for, and the tokens handed back. Used by the model
 * (extend/oauth) and by the parts of app/oauth it calls.
 */

/** The client as the engine carries it between model calls: no secret hash. */
export interface EngineClient extends Client {
  id: string;
  pk: number;
  grants: string[];
  scopes: string[];
  defaultScope: string[] | null;
  accessTokenLifetime?: number;
  accessTokenFormat: AccessTokenFormat;
  audience: string | null;
  resources: string[];
}

/** Who a token speaks for: a user (password grant), or the client itself (client_credentials). */
export type Principal =
  | ({ kind: 'user' } & User)
  | { kind: 'client'; clientId: string };

/**
 * The engine hands the user of getRefreshToken() on to saveToken(): on a refresh it carries the grant
 * (the login) that the new token continues, and the token whose refresh token it spends.
 */
export type GrantedPrincipal = Principal & {
  grantId?: string;
  /** `withinGrace`: already spent moments ago by another request of the same login (two tabs). */
  spends?: { tokenId: number; withinGrace: boolean };
  /** The resource (RFC 8707) the login named: its tokens' audience unless a request narrows it. */
  resource?: string | null;
  /** When the user authenticated (RFC 9068 auth_time). */
  authTime?: Date;
};

export interface StoredRefreshToken extends RefreshToken {
  user: GrantedPrincipal;
}

/** What saveToken gives the engine: `expires_in` goes into the response as it is (allowExtendedTokenAttributes). */
export interface SavedToken extends Token {
  expires_in: number;
}

export function principalOf(record: TokenRecord): Principal {
  return record.user ? { kind: 'user', ...record.user } : { kind: 'client', clientId: record.client.clientId };
}

/** `jwtLifetime`: the access-token lifetime of a JWT client that sets none (config.oauth.jwt). */
export function engineClient(client: OAuthClient, jwtLifetime: number): EngineClient {
  const jwt = client.accessTokenFormat === 'jwt';
  return {
    id: client.clientId,
    pk: client.id,
    grants: client.grants,
    scopes: client.scopes,
    defaultScope: client.defaultScope,
    redirectUris: client.redirectUris,
    accessTokenLifetime: client.accessTokenLifetime ?? (jwt ? jwtLifetime : undefined),
    refreshTokenLifetime: client.refreshTokenLifetime ?? undefined,
    accessTokenFormat: client.accessTokenFormat,
    audience: client.audience,
    resources: client.resources,
  };
}

/** What authenticate() leaves in ctx.state.oauth.token. */
export interface AuthenticatedToken extends Token {
  accessTokenExpiresAt: Date;
  scope: string[];
  grantId: string;
  user: Principal;
}
