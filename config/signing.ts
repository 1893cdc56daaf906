import { createHash } from 'node:crypto';
import { SIGNING_ALGORITHMS, type SigningAlgorithm, type SigningKeyOptions, SigningKeyError, parseKeks } from '../app/core/signingKeys';

/** JWT access tokens: how they are signed and how long they live; see the README's "JWT access tokens". */
export interface JwtConfig extends SigningKeyOptions {
  /** Lifetime of a JWT access token when its client sets none: a third-party verifier cannot be told of a revocation. */
  accessTokenLifetime: number;
  /** How often each worker reloads the keys (a rotation made on another host is seen within this). */
  keyRefreshSeconds: number;
  /** max-age of /.well-known/jwks.json: well below the publish delay. */
  jwksMaxAgeSeconds: number;
}

/**
 * Outside production, a fixed, public KEK: development keys need no secret. Production has none:
 * without JWT_KEKS it cannot sign, and refuses to start while a client wants JWTs (app.ts).
 */
const DEVELOPMENT_KEK = createHash('sha256').update('egg-oauth2-mysql-server development KEK, public').digest('base64');

/** The settings from JWT_* variables; shared by the app and the command line. */
export function jwtSettings(serverEnv: string, env: NodeJS.ProcessEnv = process.env): JwtConfig {
  const alg = (env.JWT_ALG || 'ES256') as SigningAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(alg)) throw new SigningKeyError(`JWT_ALG must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  const publishDelaySeconds = Number(env.JWT_KEY_PUBLISH_DELAY_SECONDS || 900);
  return {
    alg,
    keyEncryptionSecrets: parseKeks(env.JWT_KEKS ?? (serverEnv === 'prod' ? '' : DEVELOPMENT_KEK)),
    publishDelaySeconds,
    accessTokenLifetime: Number(env.JWT_ACCESS_TOKEN_LIFETIME || 900),
    keyRefreshSeconds: 30,
    // A verifier that cached the set just before a rotation sees the new key long before it signs.
    jwksMaxAgeSeconds: Math.min(300, Math.floor(publishDelaySeconds / 3)),
  };
}
