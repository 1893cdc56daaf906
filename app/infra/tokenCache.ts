import { LRUCache } from 'lru-cache';

export interface TokenCacheOptions {
  /**
   * The longest a looked-up token is trusted without asking MySQL again (each entry also ends at its
   * token's expiry); 0 disables the cache. Revocations reach the cache at once in the worker that
   * makes them, and through the revocation feed elsewhere (infra/revocationFeed).
   */
  ttlMs: number;
  max: number;
}

/**
 * Access-token lookups of this worker. Each record carries tags (its grant, user, client and token
 * row: `grant:<id>`, …); a revocation drops every entry with its tag, through an index, so that a
 * stream of revocations costs a few map lookups each, whatever the size of the cache. Unknown tokens
 * are never cached, so a flood of made-up tokens cannot push real ones out.
 */
export class TokenCache<TokenRecord extends object> {
  private readonly cache?: LRUCache<string, TokenRecord>;
  /** Tag → the keys of the entries that carry it. */
  private readonly byTag = new Map<string, Set<string>>();
  /** Moves on at every drop: a record read before a drop is not cached after it (see set). */
  #generation = 0;
  /** Lookups so far (GET /metrics). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(private readonly options: TokenCacheOptions, private readonly tagsOf: (record: TokenRecord) => string[]) {
    if (options.ttlMs > 0) {
      this.cache = new LRUCache({
        max: options.max,
        ttl: options.ttlMs,
        dispose: (record, key) => this.unindex(key, record),
      });
    }
  }

  get(accessTokenHash: string): TokenRecord | undefined {
    if (!this.cache) return undefined;
    const record = this.cache.get(accessTokenHash);
    if (record) this.stats.hits++;
    else this.stats.misses++;
    return record;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Caches a record read while the cache was at `generation`, until `expiresAt` at the latest. A
   * revocation that committed and dropped entries while the read was in flight may have happened
   * after the row was read: such a record is not cached, or a revoked token would come back.
   */
  set(accessTokenHash: string, record: TokenRecord, generation: number, expiresAt: Date): void {
    if (!this.cache || generation !== this.#generation) return;
    const ttl = Math.min(this.options.ttlMs, expiresAt.getTime() - Date.now());
    if (ttl <= 0) return;
    this.cache.set(accessTokenHash, record, { ttl });
    for (const tag of this.tagsOf(record)) {
      let keys = this.byTag.get(tag);
      if (!keys) this.byTag.set(tag, keys = new Set());
      keys.add(accessTokenHash);
    }
  }

  /** Drops every cached token that carries the tag (`grant:<id>`, `user:<id>`, `client:<id>`, `token:<id>`). */
  drop(tag: string): void {
    this.#generation++;
    for (const key of this.byTag.get(tag) ?? []) this.cache?.delete(key);
  }

  /** Drops everything: the revocation feed lost track and cannot tell what was revoked meanwhile. */
  clear(): void {
    this.#generation++;
    this.cache?.clear();
  }

  private unindex(key: string, record: TokenRecord): void {
    for (const tag of this.tagsOf(record)) {
      const keys = this.byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.byTag.delete(tag);
    }
  }
}
