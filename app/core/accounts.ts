import { randomBytes } from 'node:crypto';
import type { AccessTokenFormat, ClientRepository } from '../repository/ClientRepository';
import type { GrantRepository, LiveGrant } from '../repository/GrantRepository';
import { isDuplicateEntry } from '../repository/retry';
import type { User, UserRepository } from '../repository/UserRepository';
import { CLIENT_ID_PATTERN, CLIENT_SECRET_PATTERN, MAX_USERNAME_LENGTH } from './credentials';
import { type PhoneRegion, isEmail, parsePhone, usernameProblem } from './identifiers';
import type { PasswordHasher } from './password';
import { redirectUriProblem, resourceProblem } from './redirectUris';

/** Grant types a client may be registered for (RFC 6749 §4). */
export const KNOWN_GRANTS = [ 'password', 'refresh_token', 'client_credentials', 'authorization_code' ] as const;

export const MIN_PASSWORD_LENGTH = 8;

/** A refusal that a caller (CLI, API) shows to the person who asked, as it is. */
export class AccountError extends Error {}

export interface CreateUserInput {
  username: string;
  password: string;
  email?: string;
  phone?: string;
  roles?: string[];
}

/** New contacts of a user: a value sets it, an empty string clears it, absent keeps it. */
export interface ContactsInput {
  email?: string;
  phone?: string;
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
  /** No secret (a browser or native app): authorization_code with PKCE and refresh_token only. */
  public?: boolean;
  /** A first-party client: no consent page. */
  skipConsent?: boolean;
  /** Resource indicators (RFC 8707) the client may ask tokens for. */
  resources?: string[];
  /** opaque (the default) or jwt (RFC 9068). */
  accessTokenFormat?: string;
  /** The `aud` of its tokens when a request names no resource; required for JWTs. */
  audience?: string;
}

function isAccessTokenFormat(value: string): value is AccessTokenFormat {
  return value === 'opaque' || value === 'jwt';
}

/** The grants a public client may use: none of them needs a secret (RFC 6749 §2.1, OAuth 2.1 §2.1). */
const PUBLIC_CLIENT_GRANTS = [ 'authorization_code', 'refresh_token' ];

/**
 * Users and clients: creating and changing them (the admin command line). Every secret goes through
 * the slow hasher; nothing here ever returns or logs one. Checking credentials is Credentials' work.
 */
export class Accounts {
  constructor(
    private readonly users: UserRepository,
    private readonly clients: ClientRepository,
    private readonly grants: GrantRepository,
    private readonly hasher: PasswordHasher,
    private readonly options: {
      /** Production refuses plain-http redirect URIs but for loopback hosts. */
      production?: boolean;
      /** The default region of national phone numbers. */
      phoneRegion?: PhoneRegion;
    } = {},
  ) {}

  async createUser(input: CreateUserInput): Promise<number> {
    const username = this.checkUsername(input.username);
    this.checkPassword(input.password);
    const contacts = this.checkContacts(input);
    try {
      return await this.users.saveUser({
        username,
        passwordHash: await this.hasher.hash(input.password),
        email: contacts.email ?? null,
        phone: contacts.phone ?? null,
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
    const username = this.checkUsername(input.username);
    const contacts = this.checkContacts(input);
    try {
      return await this.users.saveUser({ ...input, ...contacts, username });
    } catch (err) {
      if (isDuplicateEntry(err)) throw new AccountError('a user with this username, email or phone already exists');
      throw err;
    }
  }

  /**
   * Changes a user's e-mail address or phone number (an empty string removes it). The user logs in
   * with the new ones from then on; an SMS code sent to the old number dies with it.
   */
  async updateContacts(username: string, input: ContactsInput): Promise<void> {
    const contacts = this.checkContacts(input);
    const user = await this.requireUser(username);
    try {
      await this.users.updateContacts(user.id, contacts);
    } catch (err) {
      if (isDuplicateEntry(err)) throw new AccountError('another user has this email or phone');
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
    this.checkRedirection(input);
    const accessTokenFormat = input.accessTokenFormat ?? 'opaque';
    if (!isAccessTokenFormat(accessTokenFormat)) throw new AccountError('access token format must be opaque or jwt');
    // RFC 9068 §2.2: a JWT access token always names its audience.
    if (accessTokenFormat === 'jwt' && input.audience === undefined) throw new AccountError('a client of JWT access tokens needs an audience (--audience)');
    if (input.public) {
      if (input.secret !== undefined) throw new AccountError('a public client has no secret');
      const secretGrants = input.grants.filter(grant => !PUBLIC_CLIENT_GRANTS.includes(grant));
      if (secretGrants.length > 0) throw new AccountError(`a public client may use ${PUBLIC_CLIENT_GRANTS.join(' and ')} only, not ${secretGrants.join(', ')}`);
    }
    const generatedSecret = input.public || input.secret ? undefined : randomBytes(32).toString('base64url');
    const secret = input.secret ?? generatedSecret;
    try {
      const id = await this.clients.saveClient({
        clientId: input.clientId,
        secretHash: secret === undefined ? null : await this.hasher.hash(secret),
        grants: input.grants,
        scopes: input.scopes ?? [],
        defaultScope: input.defaultScope ?? null,
        redirectUris: input.redirectUris ?? [],
        accessTokenLifetime: input.accessTokenLifetime ?? null,
        refreshTokenLifetime: input.refreshTokenLifetime ?? null,
        resourceServer: input.resourceServer ?? false,
        skipConsent: input.skipConsent ?? false,
        resources: input.resources ?? [],
        accessTokenFormat,
        audience: input.audience ?? null,
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
    await this.clients.updateEnabled(client.id, enabled);
    if (!enabled) await this.grants.revokeGrantsOfClient(client.id, 'client_disabled', new Date());
  }

  /** Deletes the client with its grants and tokens (foreign key cascade). */
  async deleteClient(clientId: string): Promise<void> {
    if (!await this.clients.removeClient(clientId)) throw new AccountError(`no client ${clientId}`);
  }

  /** Redirect URIs (RFC 6749 §3.1.2) and resource indicators (RFC 8707 §2) a client may be registered with. */
  private checkRedirection(input: CreateClientInput): void {
    const redirectUris = input.redirectUris ?? [];
    for (const uri of redirectUris) {
      const problem = redirectUriProblem(uri, { production: this.options.production ?? false });
      if (problem) throw new AccountError(`redirect URI ${uri} ${problem}`);
    }
    if (input.grants.includes('authorization_code') && redirectUris.length === 0) {
      throw new AccountError('a client of the authorization_code grant needs at least one redirect URI (--redirect-uris)');
    }
    for (const uri of input.resources ?? []) {
      const problem = resourceProblem(uri);
      if (problem) throw new AccountError(`resource ${uri} ${problem}`);
    }
    const audienceProblem = input.audience === undefined ? null : resourceProblem(input.audience);
    if (audienceProblem) throw new AccountError(`audience ${input.audience} ${audienceProblem}`);
  }

  /** Usernames look like neither an e-mail address nor a phone number, which logins read as such. */
  private checkUsername(input: string): string {
    const username = input.trim();
    if (!username || username.length > MAX_USERNAME_LENGTH) {
      throw new AccountError(`username must be 1 to ${MAX_USERNAME_LENGTH} characters`);
    }
    const problem = usernameProblem(username);
    if (problem) throw new AccountError(`username ${problem}`);
    return username;
  }

  /**
   * An e-mail address as people write them; a phone number as E.164 (`+8613800138000`), national
   * numbers in the default region: the form logins look it up by. Empty = none (null).
   */
  private checkContacts(input: ContactsInput): { email?: string | null; phone?: string | null } {
    const contacts: { email?: string | null; phone?: string | null } = {};
    if (input.email !== undefined) {
      const email = input.email.trim();
      if (email && !isEmail(email)) throw new AccountError(`email ${input.email} is not an e-mail address`);
      contacts.email = email || null;
    }
    if (input.phone !== undefined) {
      const phone = input.phone.trim() ? parsePhone(input.phone, this.options.phoneRegion) : null;
      if (input.phone.trim() && !phone) {
        throw new AccountError(`phone ${input.phone} is not a valid phone number (write it +<country code>…, or set PHONE_DEFAULT_REGION for national numbers)`);
      }
      contacts.phone = phone;
    }
    return contacts;
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
