import { LRUCache } from 'lru-cache';

export interface TokenCacheOptions {
  /** How long a looked-up token is trusted without asking MySQL again; 0 disables the cache. */
  ttlMs: number;
  max: number;
}

/**
 * Access-token lookups of this worker, for at most `ttlMs`. A revocation made in this worker drops
 * the affected entries at once; one made elsewhere (another worker, host or the CLI) takes effect
 * here within `ttlMs`. Expiry is checked on every request from the cached expiry time. Unknown
 * tokens are never cached, so a flood of made-up tokens cannot push real ones out.
 */
export class TokenCache<TokenRecord extends object> {
  private readonly cache?: LRUCache<string, TokenRecord>;
  /** Moves on at every drop: a record read before a drop is not cached after it (see set). */
  #generation = 0;

  constructor(options: TokenCacheOptions) {
    if (options.ttlMs > 0) this.cache = new LRUCache({ max: options.max, ttl: options.ttlMs });
  }

  get(accessTokenHash: string): TokenRecord | undefined {
    return this.cache?.get(accessTokenHash);
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Caches a record read while the cache was at `generation`. A revocation that committed and dropped
   * entries while the read was in flight may have happened after the row was read: such a record is
   * not cached, or a revoked token would come back for the whole TTL.
   */
  set(accessTokenHash: string, record: TokenRecord, generation: number): void {
    if (generation === this.#generation) this.cache?.set(accessTokenHash, record);
  }

  /** Drops every cached token the predicate matches (revocations are rare: a scan is fine). */
  drop(matches: (record: TokenRecord) => boolean): void {
    this.#generation++;
    if (!this.cache) return;
    for (const [ key, record ] of this.cache.entries()) {
      if (matches(record)) this.cache.delete(key);
    }
  }
}
