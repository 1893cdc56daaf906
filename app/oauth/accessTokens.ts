import { randomBytes } from 'node:crypto';
import type { Application } from 'egg';
import { mayRequestResource } from '../core/redirectUris';
import { generateToken } from '../core/token';
import { issuer } from './authorize';
import { InvalidTargetError } from './errors';
import type { EngineClient, GrantedPrincipal } from './principals';

/**
 * RFC 8707 §2: the audience of a token. A `resource` named by the request must be one the client is
 * registered for (its resources, or its audience), and on a refresh or a code exchange the one the
 * login named, if it named one; without it the token keeps the login's resource, else the client's
 * audience. Null: no audience (an opaque token of a client registered with none).
 */
export function tokenAudience(client: EngineClient, user: GrantedPrincipal, requested: string | undefined): string | null {
  if (requested === undefined) return user.resource ?? client.audience;
  if (!mayRequestResource(client, requested)) {
    throw new InvalidTargetError('Invalid target: the client may not ask for this resource');
  }
  if (user.resource && user.resource !== requested) {
    throw new InvalidTargetError('Invalid target: the resource differs from the one the login was granted for');
  }
  return requested;
}

/** The request's `resource` (one per request: repeated parameters are refused before). */
export function requestedResource(app: Application): string | undefined {
  return app.currentContext?.state.formParameters?.resource;
}

/**
 * Access tokens as each client is registered for: 256 random bits, or an RFC 9068 JWT signed with
 * the active key. Either way only its SHA-256 is stored, so revocation, introspection and this
 * server's own Bearer check treat both alike.
 */
export class AccessTokens {
  constructor(private readonly app: Application) {}

  async generate(client: EngineClient, user: GrantedPrincipal, scope: string[] | undefined): Promise<string> {
    if (client.accessTokenFormat !== 'jwt') return generateToken();
    const { app } = this;
    const ctx = app.currentContext;
    const aud = tokenAudience(client, user, requestedResource(app));
    // RFC 9068 §2.2: aud is required; the command line refuses a JWT client without an audience.
    if (!aud) throw new Error(`client ${client.id} wants JWT access tokens but has no audience`);
    const iat = Math.floor(Date.now() / 1000);
    const authTime = user.kind === 'user' ? user.authTime : undefined;
    return app.container.signingKeys.sign({
      iss: ctx ? issuer(ctx) : app.config.oauth.issuer,
      sub: user.kind === 'user' ? String(user.id) : client.id,
      aud,
      exp: iat + (client.accessTokenLifetime as number),
      iat,
      jti: randomBytes(16).toString('base64url'),
      client_id: client.id,
      ...scope && scope.length > 0 ? { scope: scope.join(' ') } : {},
      ...authTime ? { auth_time: Math.floor(authTime.getTime() / 1000) } : {},
    });
  }
}
