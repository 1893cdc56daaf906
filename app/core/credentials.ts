import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ClientRepository, OAuthClient } from '../repository/ClientRepository';
import type { User, UserRepository } from '../repository/UserRepository';
import type { LoginFailure } from './audit';
import type { PasswordHasher } from './password';

/** The users.username column's length: a longer username can match no user. */
export const MAX_USERNAME_LENGTH = 100;
/** RFC 6749 Appendix A.1 VSCHAR, less ":" which HTTP Basic cannot carry in a user id. */
export const CLIENT_ID_PATTERN = /^[\x20-\x39\x3b-\x7e]{1,100}$/;
/** RFC 6749 Appendix A.2 VSCHAR. */
export const CLIENT_SECRET_PATTERN = /^[\x20-\x7e]{1,200}$/;

/**
 * Checks user passwords and client secrets. Unknown users and clients cost what a known one costs
 * (a dummy verification); the reason for a failure is for the audit log only.
 */
export class Credentials {
  /** Stored secret hash → SHA-256 of the secret that verified against it. */
  private readonly verifiedSecrets?: LRUCache<string, Buffer>;

  constructor(
    private readonly users: UserRepository,
    private readonly clients: ClientRepository,
    private readonly hasher: PasswordHasher,
    clientSecretCacheSize = 0,
  ) {
    if (clientSecretCacheSize > 0) this.verifiedSecrets = new LRUCache({ max: clientSecretCacheSize });
  }

  /** Prepares what the first login would otherwise pay for (the dummy hash of unknown users). */
  async warmUp(): Promise<void> {
    await this.hasher.warmUp();
  }

  /**
   * The user for this username and password, or why not. Unknown user, wrong password and disabled
   * user cost the same one hash verification; the reason is for the audit log only.
   */
  async authenticateUser(username: string, password: string): Promise<{ user: User } | { failure: LoginFailure; userId?: number }> {
    const found = await this.users.findUserByUsername(username);
    if (!found) return this.hasher.verifyDummy(password).then(() => ({ failure: 'unknown_user' as const }));
    const { passwordHash, ...user } = found;
    const { ok, needsRehash } = await this.hasher.verify(passwordHash, password);
    if (!ok) return { failure: 'wrong_password', userId: user.id };
    if (!user.enabled) return { failure: 'disabled_user', userId: user.id };
    if (needsRehash) await this.users.updatePasswordHash(user.id, await this.hasher.hash(password));
    return { user };
  }

  /**
   * The enabled client with this id and secret, or null. A client authenticates on every token,
   * refresh and introspection request with the same secret: once it has verified against the stored
   * hash, a SHA-256 of it stands in for argon2 (keyed by the stored hash, so a new secret starts over).
   */
  async authenticateClient(clientId: string, secret: string): Promise<OAuthClient | null> {
    const client = await this.clients.findClientByClientId(clientId);
    // A public client has no secret: whatever is sent as one proves nothing.
    if (!client?.secretHash) return this.hasher.verifyDummy(secret).then(() => null);
    const digest = createHash('sha256').update(secret, 'utf8').digest();
    if (this.isVerifiedSecret(client, digest)) return client.enabled ? client : null;
    const { ok, needsRehash } = await this.hasher.verify(client.secretHash, secret);
    if (!ok || !client.enabled) return null;
    if (needsRehash) {
      await this.clients.updateSecretHash(client.id, await this.hasher.hash(secret));
    } else {
      this.verifiedSecrets?.set(client.secretHash, digest);
    }
    return client;
  }

  /**
   * The enabled client, when this secret is one it has already proved (no hashing: no guess can get
   * through here), else null and the caller goes the slow, throttled way.
   */
  async findVerifiedClient(clientId: string, secret: string): Promise<OAuthClient | null> {
    if (!this.verifiedSecrets) return null;
    const client = await this.clients.findClientByClientId(clientId);
    const digest = createHash('sha256').update(secret, 'utf8').digest();
    return client?.enabled && this.isVerifiedSecret(client, digest) ? client : null;
  }

  /**
   * The enabled public client with this id (RFC 6749 §2.1, token_endpoint_auth_method none), else
   * null: a confidential client must prove its secret.
   */
  async findPublicClient(clientId: string): Promise<OAuthClient | null> {
    const client = await this.clients.findClientByClientId(clientId);
    return client?.enabled && client.secretHash === null ? client : null;
  }

  private isVerifiedSecret(client: OAuthClient, digest: Buffer): boolean {
    if (!client.secretHash) return false;
    const known = this.verifiedSecrets?.get(client.secretHash);
    return known !== undefined && timingSafeEqual(known, digest);
  }
}
