import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
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

/** At most `limit` tasks run at once; the others start in the order they came, as slots free up. */
export class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#free = Math.max(1, Math.floor(limit) || 1);
  }

  /** Tasks waiting for a slot (GET /metrics). */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>(resolve => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The slot goes straight to the next in line, so that none can overtake it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/**
 * Slow hashing of user passwords and client secrets: argon2id for new hashes; bcrypt hashes
 * imported from a Spring Security server still verify and are flagged for an upgrade.
 *
 * At most `concurrency` hashes run at once (by default one per CPU; the app shares the CPUs among its
 * workers); the others wait their turn. Both libraries run on libuv's threadpool (4 threads by
 * default): with a hash on every thread, each of 2 cores was shared by two of them with the main
 * thread, a Bearer check's p99 under a flood of logins was 3.7–4.8 times its idle p99 instead of
 * 1.4–2.2 with 2 slots (README, Performance, fourth round), and the pool had no thread left for file
 * or DNS work.
 */
export class PasswordHasher {
  readonly #options: Argon2Options;
  readonly #slots: Slots;
  #dummyHash?: Promise<string>;

  constructor(options: Argon2Options = OWASP_ARGON2ID, concurrency = availableParallelism()) {
    this.#options = options;
    this.#slots = new Slots(concurrency);
  }

  /** Hashes waiting for a slot. */
  get waiting(): number {
    return this.#slots.waiting;
  }

  hash(plain: string): Promise<string> {
    return this.#slots.run(() => argon2.hash(plain, { type: argon2.argon2id, ...this.#options }));
  }

  async verify(storedHash: string, plain: string): Promise<VerifyResult> {
    if (BCRYPT_PREFIX.test(storedHash)) {
      // $2y$ (PHP) is the same algorithm as $2b$, which is the name the native library knows.
      const ok = await this.#slots.run(() => bcrypt.compare(plain, storedHash.replace(/^\$2y\$/, '$2b$')));
      return { ok, needsRehash: true };
    }
    try {
      const ok = await this.#slots.run(() => argon2.verify(storedHash, plain));
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
    const dummy = await this.dummyHash();
    await this.#slots.run(() => argon2.verify(dummy, plain));
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
