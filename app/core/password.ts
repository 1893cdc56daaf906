import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import bcrypt from 'bcrypt';

export interface Argon2Options {
  /** KiB of memory per hash. OWASP: 19 MiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2ID: Argon2Options = { memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 };

export interface VerifyResult {
  ok: boolean;
  /** The stored hash is bcrypt or weaker argon2 parameters: store a fresh hash after this success. */
  needsRehash: boolean;
}

const BCRYPT_PREFIX = /^\$2[aby]\$/;

/**
 * Slow hashing of user passwords and client secrets: argon2id for new hashes; bcrypt hashes
 * imported from a Spring Security server still verify and are flagged for an upgrade.
 */
export class PasswordHasher {
  readonly #options: Argon2Options;
  #dummyHash?: Promise<string>;

  constructor(options: Argon2Options = OWASP_ARGON2ID) {
    this.#options = options;
  }

  hash(plain: string): Promise<string> {
    return argon2.hash(plain, { type: argon2.argon2id, ...this.#options });
  }

  async verify(storedHash: string, plain: string): Promise<VerifyResult> {
    if (BCRYPT_PREFIX.test(storedHash)) {
      // $2y$ (PHP) is the same algorithm as $2b$, which is the name the native library knows.
      const ok = await bcrypt.compare(plain, storedHash.replace(/^\$2y\$/, '$2b$'));
      return { ok, needsRehash: true };
    }
    try {
      const ok = await argon2.verify(storedHash, plain);
      return { ok, needsRehash: ok && argon2.needsRehash(storedHash, { ...this.#options }) };
    } catch {
      // Not a hash argon2 understands: a corrupt row never authenticates.
      return { ok: false, needsRehash: false };
    }
  }

  /**
   * Spends the time of one real verification and fails. Called when the account does not exist, so
   * that the response time does not tell an attacker which usernames are registered.
   */
  async verifyDummy(plain: string): Promise<false> {
    await argon2.verify(await this.dummyHash(), plain);
    return false;
  }

  /** Computes the dummy hash ahead of the first unknown-user login (called at start-up). */
  async warmUp(): Promise<void> {
    await this.dummyHash();
  }

  private dummyHash(): Promise<string> {
    this.#dummyHash ??= this.hash(randomBytes(16).toString('hex'));
    return this.#dummyHash;
  }
}
