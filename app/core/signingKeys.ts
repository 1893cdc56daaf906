import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { type JWK, type KeyLike, SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { SigningKeyRecord, SigningKeyRepository, SigningKeyState } from '../repository/SigningKeyRepository';

/** What a JWT access token may be signed with: both work with koa-jwt + jwks-rsa (EdDSA does not). */
export const SIGNING_ALGORITHMS = [ 'ES256', 'RS256' ] as const;
export type SigningAlgorithm = typeof SIGNING_ALGORITHMS[number];

export interface SigningKeyOptions {
  /** Algorithm of newly generated keys. */
  alg: SigningAlgorithm;
  /**
   * Key-encryption keys (AES-256): the first seals new private keys, every one unseals. Empty = this
   * process cannot sign (production without JWT_KEKS). The name has "secret" in it: egg leaves such
   * config keys out of its dump (run/*_config.json).
   */
  keyEncryptionSecrets: Buffer[];
  /**
   * Seconds a new key is published before it signs: longer than any verifier caches the key set
   * (jwks-rsa: 600 s) plus the JWKS response's max-age, so no verifier meets an unknown kid.
   */
  publishDelaySeconds: number;
}

/** A configuration mistake about keys: the process refuses to go on. */
export class SigningKeyError extends Error {}

/** `JWT_KEKS`: comma-separated keys of 32 bytes each, base64 or base64url (`openssl rand -base64 32`). */
export function parseKeks(value: string): Buffer[] {
  return value.split(',').map(part => part.trim()).filter(Boolean)
    .map((part, i) => {
      const key = Buffer.from(part, /[-_]/.test(part) ? 'base64url' : 'base64');
      if (key.length !== 32) throw new SigningKeyError(`JWT_KEKS: key ${i + 1} is not 32 bytes of base64 (openssl rand -base64 32)`);
      return key;
    });
}

/** Names a KEK in a sealed key without revealing anything of it: the first bytes of its SHA-256. */
function kekId(kek: Buffer): string {
  return createHash('sha256').update(kek).digest('base64url')
    .slice(0, 8);
}

/**
 * AES-256-GCM under the first KEK, with the kid as additional data: a sealed key moved to another row
 * does not open. Format: `v1.<kek id>.<iv>.<tag>.<ciphertext>`, base64url.
 */
export function sealPrivateKey(jwk: JWK, kid: string, keyEncryptionSecrets: Buffer[]): string {
  const [ kek ] = keyEncryptionSecrets;
  if (!kek) throw new SigningKeyError('JWT_KEKS is not set: private signing keys cannot be sealed');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv).setAAD(Buffer.from(kid));
  const ciphertext = Buffer.concat([ cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final() ]);
  return [ 'v1', kekId(kek), iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url') ].join('.');
}

export function unsealPrivateKey(sealed: string, kid: string, keyEncryptionSecrets: Buffer[]): JWK {
  const [ version, id, iv, tag, ciphertext ] = sealed.split('.');
  const kek = keyEncryptionSecrets.find(k => kekId(k) === id);
  if (version !== 'v1' || !kek) throw new SigningKeyError(`signing key ${kid} is sealed under a key that JWT_KEKS does not hold`);
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(kid));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return JSON.parse(Buffer.concat([ decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final() ]).toString('utf8'));
}

/** A public key as /.well-known/jwks.json publishes it (RFC 7517 §4). */
export type PublicJwk = JWK & { kid: string; alg: string; use: 'sig' };

interface LoadedKey {
  kid: string;
  alg: string;
  activatesAt: Date;
  state: SigningKeyState;
  privateKey: KeyLike;
}

/** A key as `keys:list` shows it. */
export type SigningKeySummary = Pick<SigningKeyRecord, 'kid' | 'alg' | 'state' | 'createdAt' | 'activatesAt' | 'retiredAt' | 'removeAfter'>;

/**
 * The signing keys of JWT access tokens, kept in MySQL so that every worker and host signs with the
 * same key and publishes the same set. A rotation publishes the new key as `next` for the publish
 * delay, then it signs (`active`) and the old one is `retired`: still published until the last
 * token it signed has expired, then deleted. Each process reloads the keys (`refresh`) on a timer;
 * the key that signs is chosen by time (the newest whose publish delay is over), so every process
 * switches at the same moment whether or not it has reloaded since.
 */
export class SigningKeys {
  private loaded: LoadedKey[] = [];

  constructor(private readonly repository: SigningKeyRepository, private readonly options: SigningKeyOptions) {}

  /** Whether this process holds the KEKs it takes to sign. */
  get canSign(): boolean {
    return this.options.keyEncryptionSecrets.length > 0;
  }

  /**
   * Brings the stored states up to date (a due `next` key takes over; retired keys past their last
   * token are deleted), then loads the keys. `retentionSeconds`: the longest life of a JWT.
   */
  async refresh(retentionSeconds: number, now = new Date()): Promise<void> {
    await this.repository.activateDueKeys(now, retentionSeconds);
    await this.repository.removeRetiredKeys(now);
    await this.load();
  }

  /** Signs `claims` as an RFC 9068 access token with the key whose turn it is; makes the first key if there is none. */
  async sign(claims: Record<string, unknown>, now = new Date()): Promise<string> {
    let key = this.signingKey(now);
    if (!key) {
      await this.createFirstKey(now);
      key = this.signingKey(now);
      if (!key) throw new Error('no signing key could be loaded');
    }
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
  }

  /**
   * Starts a rotation: a new key, published now and signing after the publish delay (at once when no
   * key signs yet). Returns it.
   */
  async rotate(now = new Date(), publishDelaySeconds = this.options.publishDelaySeconds): Promise<SigningKeySummary> {
    const hasSigner = (await this.repository.listKeys()).some(key => key.state !== 'retired' && key.activatesAt <= now);
    const activatesAt = hasSigner ? new Date(now.getTime() + publishDelaySeconds * 1000) : now;
    const key = await this.generate(hasSigner ? 'next' : 'active', activatesAt);
    await this.repository.saveKey(key);
    return { kid: key.kid, alg: key.alg, state: key.state, createdAt: now, activatesAt, retiredAt: null, removeAfter: null };
  }

  async list(): Promise<SigningKeySummary[]> {
    return (await this.repository.listKeys()).map(({ kid, alg, state, createdAt, activatesAt, retiredAt, removeAfter }) => ({
      kid, alg, state, createdAt, activatesAt, retiredAt, removeAfter,
    }));
  }

  /** The public halves of every stored key (next, active, retired), read from the database. */
  async publicKeys(): Promise<PublicJwk[]> {
    return (await this.repository.listKeys()).map(key => ({ ...JSON.parse(key.publicJwk) as JWK, kid: key.kid, alg: key.alg, use: 'sig' }));
  }

  private signingKey(now: Date): LoadedKey | undefined {
    // `loaded` is sorted newest first.
    return this.loaded.find(key => key.state !== 'retired' && key.activatesAt <= now);
  }

  private async createFirstKey(now: Date): Promise<void> {
    await this.repository.saveFirstKey(await this.generate('active', now), now);
    await this.load();
  }

  private async load(): Promise<void> {
    if (!this.canSign) throw new SigningKeyError('JWT_KEKS is not set: JWT access tokens cannot be signed');
    const records = await this.repository.listKeys();
    const known = new Map(this.loaded.map(key => [ key.kid, key ]));
    this.loaded = await Promise.all(records.map(async record => ({
      kid: record.kid,
      alg: record.alg,
      activatesAt: record.activatesAt,
      state: record.state,
      // Unsealing and importing is done once per key and process.
      privateKey: known.get(record.kid)?.privateKey
        ?? await importJWK(unsealPrivateKey(record.privateSealed, record.kid, this.options.keyEncryptionSecrets), record.alg) as KeyLike,
    })));
  }

  private async generate(state: SigningKeyState, activatesAt: Date) {
    const { alg, keyEncryptionSecrets } = this.options;
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    return {
      kid,
      alg,
      publicJwk: JSON.stringify(publicJwk),
      privateSealed: sealPrivateKey(await exportJWK(privateKey), kid, keyEncryptionSecrets),
      state,
      activatesAt,
    };
  }
}
