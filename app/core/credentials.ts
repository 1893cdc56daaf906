import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ClientRepository, OAuthClient } from '../repository/ClientRepository';
import type { User, UserRepository, UserWithHash } from '../repository/UserRepository';
import type { LoginFailure } from './audit';
import { MAX_EMAIL_LENGTH, type PhoneRegion, loginIdentifier } from './identifiers';
import type { PasswordHasher } from './password';

/** The users.username column's length: a longer username can match no user. */
export const MAX_USERNAME_LENGTH = 100;
/** A login's `username` may also be an e-mail address, up to that column's length: longer names nothing. */
export const MAX_LOGIN_IDENTIFIER_LENGTH = Math.max(MAX_USERNAME_LENGTH, MAX_EMAIL_LENGTH);
/** RFC 6749 Appendix A.1 VSCHAR, less ":" which HTTP Basic cannot carry in a user id. */
export const CLIENT_ID_PATTERN = /^[\x20-\x39\x3b-\x7e]{1,100}$/;
/** RFC 6749 Appendix A.2 VSCHAR. */
export const CLIENT_SECRET_PATTERN = /^[\x20-\x7e]{1,200}$/;

/** The user a login names, if any, and the subject its attempts are counted against. */
export interface LoginCandidate {
  user: UserWithHash | null;
  subject: string;
  /** The identifier in E.164 when it is a phone number. */
  phone: string | null;
}

/** A login's outcome; the reason of a failure is for the audit log only. */
export type LoginResult = { user: User } | { failure: LoginFailure; userId?: number };

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
    /** The default region of national phone numbers. */
    private readonly phoneRegion: PhoneRegion = undefined,
  ) {
    if (clientSecretCacheSize > 0) this.verifiedSecrets = new LRUCache({ max: clientSecretCacheSize });
  }

  /** Prepares what the first login would otherwise pay for (the dummy hash of unknown users). */
  async warmUp(): Promise<void> {
    await this.hasher.warmUp();
  }

  /**
   * Who a login names: the `username` of the password grant or of the login page may be the
   * username, the e-mail address (it has an `@`) or the phone number (it parses as one, national
   * numbers in the default region). `phoneOnly`: an SMS login names a phone number, nothing else.
   * `subject` is what the brute-force throttle counts the attempt against: the user's own username
   * when the identifier names one, so that every spelling of an account counts as one, else the
   * identifier as typed (its E.164 form for a phone number).
   */
  async findLogin(identifier: string, { phoneOnly = false } = {}): Promise<LoginCandidate> {
    const named = loginIdentifier(identifier, this.phoneRegion);
    const phone = named.kind === 'phone' ? named.value : null;
    let user = phone ? await this.users.findUserByPhone(phone) : null;
    if (!phoneOnly) {
      if (named.kind === 'email') user = await this.users.findUserByEmail(named.value);
      // Also a username from before usernames had to look like neither an e-mail address nor a phone number.
      user ??= await this.users.findUserByUsername(identifier);
    }
    return { user, subject: user ? user.username : named.value, phone };
  }

  /**
   * Checks the password of the user `findLogin` found. Unknown user, wrong password and disabled user
   * cost the same one hash verification; the reason is for the audit log only.
   */
  async verifyPassword({ user: found }: LoginCandidate, password: string): Promise<LoginResult> {
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
    const client = await this.clients.findClientByClientId(clientId, { cached: true });
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
    const client = await this.clients.findClientByClientId(clientId, { cached: true });
    const digest = createHash('sha256').update(secret, 'utf8').digest();
    return client?.enabled && this.isVerifiedSecret(client, digest) ? client : null;
  }

  /**
   * The enabled public client with this id (RFC 6749 §2.1, token_endpoint_auth_method none), else
   * null: a confidential client must prove its secret.
   */
  async findPublicClient(clientId: string): Promise<OAuthClient | null> {
    const client = await this.clients.findClientByClientId(clientId, { cached: true });
    return client?.enabled && client.secretHash === null ? client : null;
  }

  private isVerifiedSecret(client: OAuthClient, digest: Buffer): boolean {
    if (!client.secretHash) return false;
    const known = this.verifiedSecrets?.get(client.secretHash);
    return known !== undefined && timingSafeEqual(known, digest);
  }
}
