import type { RDSClient } from '@eggjs/rds';
import { AuthorizationCodeRepository } from '../repository/AuthorizationCodeRepository';
import { ClientRepository, type OAuthClient, clientTagsOf } from '../repository/ClientRepository';
import { ConsentRepository } from '../repository/ConsentRepository';
import { GrantRepository } from '../repository/GrantRepository';
import { HealthRepository } from '../repository/HealthRepository';
import { LockRepository } from '../repository/LockRepository';
import { ThrottleRepository } from '../repository/ThrottleRepository';
import { type TokenRecord, TokenRepository, revocationTagsOf } from '../repository/TokenRepository';
import { RevocationRepository } from '../repository/RevocationRepository';
import { SigningKeyRepository } from '../repository/SigningKeyRepository';
import { SmsCodeRepository } from '../repository/SmsCodeRepository';
import { UserRepository } from '../repository/UserRepository';
import { Accounts } from '../core/accounts';
import { Credentials } from '../core/credentials';
import type { PhoneRegion } from '../core/identifiers';
import { type Argon2Options, PasswordHasher } from '../core/password';
import { type SigningKeyOptions, SigningKeys } from '../core/signingKeys';
import { TaggedCache, type TaggedCacheOptions } from './taggedCache';

/** The repositories and domain objects over one database, one set per process; shared by the app and the command line. */
export interface Container {
  /** Password and client-secret hashing, at most `hashConcurrency` at once. */
  hasher: PasswordHasher;
  users: UserRepository;
  clients: ClientRepository;
  grants: GrantRepository;
  tokens: TokenRepository;
  throttle: ThrottleRepository;
  locks: LockRepository;
  revocations: RevocationRepository;
  /** The worker's Bearer cache (absent in the command line). */
  tokenCache?: TaggedCache<TokenRecord>;
  /** The worker's client-authentication cache (absent in the command line). */
  clientCache?: TaggedCache<OAuthClient>;
  health: HealthRepository;
  codes: AuthorizationCodeRepository;
  consents: ConsentRepository;
  smsCodes: SmsCodeRepository;
  credentials: Credentials;
  accounts: Accounts;
  signingKeys: SigningKeys;
}

export interface ContainerOptions {
  argon2: Argon2Options;
  /** Hashes computed at once by this process (default: one per CPU). */
  hashConcurrency?: number;
  /** The server's Bearer-lookup cache; the command line has none. */
  tokenCache?: TaggedCacheOptions;
  /** The server's client-lookup cache; the command line has none. */
  clientCache?: TaggedCacheOptions;
  /** The prod environment: stricter registration rules (plain-http redirect URIs on loopback only). */
  production?: boolean;
  /** Verified client secrets remembered per process; 0 = verify every time. */
  clientSecretCacheSize?: number;
  /** How JWT access tokens are signed (config/signing.ts). */
  jwt: SigningKeyOptions;
  /** The default region of national phone numbers (logins, the command line). */
  phoneRegion?: PhoneRegion;
}

export function createContainer(db: RDSClient, options: ContainerOptions): Container {
  const { argon2, hashConcurrency, tokenCache, clientCache, production = false, clientSecretCacheSize = 0, jwt, phoneRegion } = options;
  const cache = tokenCache ? new TaggedCache<TokenRecord>(tokenCache, revocationTagsOf, record => record.accessTokenExpiresAt) : undefined;
  const clientsCache = clientCache ? new TaggedCache<OAuthClient>(clientCache, clientTagsOf) : undefined;
  const users = new UserRepository(db);
  const clients = new ClientRepository(db, clientsCache);
  const grants = new GrantRepository(db, cache);
  const hasher = new PasswordHasher(argon2, hashConcurrency);
  return {
    hasher,
    users,
    clients,
    grants,
    tokens: new TokenRepository(db, cache),
    throttle: new ThrottleRepository(db),
    locks: new LockRepository(db),
    revocations: new RevocationRepository(db),
    tokenCache: cache,
    clientCache: clientsCache,
    health: new HealthRepository(db),
    codes: new AuthorizationCodeRepository(db),
    consents: new ConsentRepository(db),
    smsCodes: new SmsCodeRepository(db),
    credentials: new Credentials(users, clients, hasher, clientSecretCacheSize, phoneRegion),
    accounts: new Accounts(users, clients, grants, hasher, { production, phoneRegion }),
    signingKeys: new SigningKeys(new SigningKeyRepository(db), jwt),
  };
}
