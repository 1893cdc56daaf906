import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ClientRepository, OAuthClient } from '../repository/ClientRepository';
import type { GrantRepository, LiveGrant } from '../repository/GrantRepository';
import type { User, UserRepository } from '../repository/UserRepository';
import type { LoginFailure } from './audit';
import type { PasswordHasher } from './password';

/** Grant types a client may be registered for (RFC 6749 §4). */
export const KNOWN_GRANTS = [ 'password', 'refresh_token', 'client_credentials', 'authorization_code' ] as const;

export const MIN_PASSWORD_LENGTH = 8;
const MAX_USERNAME_LENGTH = 100;
/** RFC 6749 Appendix A.1 VSCHAR, less ":" which HTTP Basic cannot carry in a user id. */
const CLIENT_ID_PATTERN = /^[\x20-\x39\x3b-\x7e]{1,100}$/;
/** RFC 6749 Appendix A.2 VSCHAR. */
const CLIENT_SECRET_PATTERN = /^[\x20-\x7e]{1,200}$/;

/** A refusal that a caller (CLI, API) shows to the person who asked, as it is. */
export class AccountError extends Error {}

function isDuplicateEntry(err: unknown): boolean {
  return (err as { code?: string }).code === 'ER_DUP_ENTRY';
}

export interface CreateUserInput {
  username: string;
  password: string;
  email?: string;
  phone?: string;
  roles?: string[];
}

export interface CreateClientInput {
  clientId: string;
  /** Generated (and returned once) when absent. */
  secret?: string;
  grants: string[];
  scopes?: string[];
  /** Must be within `scopes`; absent = all of them. */
  defaultScope?: string[];
  redirectUris?: string[];
  accessTokenLifetime?: number;
  refreshTokenLifetime?: number;
  resourceServer?: boolean;
}

/**
 * Users and clients: creating them, changing them, and checking their credentials. Every secret goes
 * through the slow hasher; nothing here ever returns or logs one.
 */
export class Accounts {
  /** Stored secret hash → SHA-256 of the secret that verified against it. */
  private readonly verifiedSecrets?: LRUCache<string, Buffer>;

  constructor(
    private readonly users: UserRepository,
    private readonly clients: ClientRepository,
    private readonly grants: GrantRepository,
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
    if (!client) return this.hasher.verifyDummy(secret).then(() => null);
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

  private isVerifiedSecret(client: OAuthClient, digest: Buffer): boolean {
    const known = this.verifiedSecrets?.get(client.secretHash);
    return known !== undefined && timingSafeEqual(known, digest);
  }

  async createUser(input: CreateUserInput): Promise<number> {
    const username = input.username.trim();
    if (!username || username.length > MAX_USERNAME_LENGTH) {
      throw new AccountError(`username must be 1 to ${MAX_USERNAME_LENGTH} characters`);
    }
    this.checkPassword(input.password);
    try {
      return await this.users.saveUser({
        username,
        passwordHash: await this.hasher.hash(input.password),
        email: input.email || null,
        phone: input.phone || null,
        roles: input.roles ?? [],
      });
    } catch (err) {
      if (isDuplicateEntry(err)) throw new AccountError('a user with this username, email or phone already exists');
      throw err;
    }
  }

  /**
   * Stores an already-computed hash, e.g. a bcrypt hash exported from a Spring Security server: it
   * verifies as it is and is upgraded to argon2id at the user's next login.
   */
  async importUser(input: Omit<CreateUserInput, 'password'> & { passwordHash: string }): Promise<number> {
    if (!/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(input.passwordHash) && !input.passwordHash.startsWith('$argon2id$')) {
      throw new AccountError('the password hash must be bcrypt ($2a$, $2b$, $2y$) or argon2id');
    }
    try {
      return await this.users.saveUser({ ...input, username: input.username.trim() });
    } catch (err) {
      if (isDuplicateEntry(err)) throw new AccountError('a user with this username, email or phone already exists');
      throw err;
    }
  }

  /** Sets a new password and ends every session of the user: whoever knew the old one is out. */
  async setPassword(username: string, password: string): Promise<void> {
    this.checkPassword(password);
    const user = await this.requireUser(username);
    await this.users.updatePasswordHash(user.id, await this.hasher.hash(password));
    await this.grants.revokeGrantsOfUser(user.id, 'password_change', new Date());
  }

  /** Disabling ends every session at once; enabling again does not bring them back. */
  async setEnabled(username: string, enabled: boolean): Promise<void> {
    const user = await this.requireUser(username);
    await this.users.updateEnabled(username, enabled);
    if (!enabled) await this.grants.revokeGrantsOfUser(user.id, 'user_disabled', new Date());
  }

  async listSessions(username: string): Promise<LiveGrant[]> {
    const user = await this.requireUser(username);
    return this.grants.listLiveGrantsOfUser(user.id, new Date());
  }

  /** Revokes every grant of the user (logout everywhere); returns how many were live. */
  async logoutEverywhere(username: string): Promise<number> {
    const user = await this.requireUser(username);
    return this.grants.revokeGrantsOfUser(user.id, 'admin', new Date());
  }

  /** Registers a client; returns the secret only when it was generated here. */
  async createClient(input: CreateClientInput): Promise<{ id: number; generatedSecret?: string }> {
    if (!CLIENT_ID_PATTERN.test(input.clientId) || input.clientId.trim() !== input.clientId) {
      throw new AccountError('client id must be 1 to 100 printable ASCII characters, without ":" or surrounding spaces');
    }
    if (input.secret !== undefined && !CLIENT_SECRET_PATTERN.test(input.secret)) {
      throw new AccountError('client secret must be 1 to 200 printable ASCII characters');
    }
    const unknown = input.grants.filter(grant => !(KNOWN_GRANTS as readonly string[]).includes(grant));
    if (unknown.length > 0) {
      throw new AccountError(`unknown grant type ${unknown.join(', ')} (known: ${KNOWN_GRANTS.join(', ')})`);
    }
    if (input.grants.length === 0) throw new AccountError('a client needs at least one grant type');
    const outside = (input.defaultScope ?? []).filter(scope => !(input.scopes ?? []).includes(scope));
    if (outside.length > 0) throw new AccountError(`default scope ${outside.join(' ')} is not within the client's scopes`);
    for (const ttl of [ input.accessTokenLifetime, input.refreshTokenLifetime ]) {
      if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) {
        throw new AccountError('token lifetimes are whole seconds greater than 0');
      }
    }
    const generatedSecret = input.secret ? undefined : randomBytes(32).toString('base64url');
    const secret = input.secret ?? generatedSecret ?? '';
    try {
      const id = await this.clients.saveClient({
        clientId: input.clientId,
        secretHash: await this.hasher.hash(secret),
        grants: input.grants,
        scopes: input.scopes ?? [],
        defaultScope: input.defaultScope ?? null,
        redirectUris: input.redirectUris ?? [],
        accessTokenLifetime: input.accessTokenLifetime ?? null,
        refreshTokenLifetime: input.refreshTokenLifetime ?? null,
        resourceServer: input.resourceServer ?? false,
      });
      return { id, generatedSecret };
    } catch (err) {
      if (isDuplicateEntry(err)) throw new AccountError(`client ${input.clientId} already exists`);
      throw err;
    }
  }

  /** Disabling a client ends every token issued to it; enabling again does not bring them back. */
  async setClientEnabled(clientId: string, enabled: boolean): Promise<void> {
    const client = await this.clients.findClientByClientId(clientId);
    if (!client) throw new AccountError(`no client ${clientId}`);
    await this.clients.updateEnabled(clientId, enabled);
    if (!enabled) await this.grants.revokeGrantsOfClient(client.id, 'client_disabled', new Date());
  }

  /** Deletes the client with its grants and tokens (foreign key cascade). */
  async deleteClient(clientId: string): Promise<void> {
    if (!await this.clients.removeClient(clientId)) throw new AccountError(`no client ${clientId}`);
  }

  private checkPassword(password: string): void {
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new AccountError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
    }
  }

  private async requireUser(username: string): Promise<User> {
    const user = await this.users.findUserByUsername(username);
    if (!user) throw new AccountError(`no user ${username}`);
    return user;
  }
}
