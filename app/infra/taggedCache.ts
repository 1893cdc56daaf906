import { LRUCache } from 'lru-cache';

export interface TaggedCacheOptions {
  /**
   * The longest a looked-up record is trusted without asking MySQL again (a token's entry also ends at
   * its expiry); 0 disables the cache. Revocations reach the cache at once in the worker that makes
   * them, and through the revocation feed elsewhere (infra/revocationFeed).
   */
  ttlMs: number;
  max: number;
}

/**
 * Lookups of this worker that a revocation must end: access tokens (the Bearer check) and clients
 * (client authentication). Each record carries tags (`grant:<id>`, `user:<id>`, `client:<id>`,
 * `token:<id>`); a revocation drops every entry with its tag, through an index, so that a stream of
 * revocations costs a few map lookups each, whatever the size of the cache. Misses are never cached,
 * so a flood of made-up tokens or client ids cannot push real ones out.
 */
export class TaggedCache<Value extends object> {
  private readonly cache?: LRUCache<string, Value>;
  /** Tag → the keys of the entries that carry it. */
  private readonly byTag = new Map<string, Set<string>>();
  /** Moves on at every drop: a record read before a drop is not cached after it (see lookup). */
  #generation = 0;
  /** Lookups so far (GET /metrics). */
  readonly stats = { hits: 0, misses: 0 };

  /** `expiresAt`: when a record stops being worth caching at the latest (a token's expiry); absent, the TTL alone. */
  constructor(
    private readonly options: TaggedCacheOptions,
    private readonly tagsOf: (record: Value) => string[],
    private readonly expiresAt?: (record: Value) => Date,
  ) {
    if (options.ttlMs > 0) {
      this.cache = new LRUCache({
        max: options.max,
        ttl: options.ttlMs,
        dispose: (record, key) => this.unindex(key, record),
      });
    }
  }

  /**
   * The record under `key`: the cached one, or what `load` reads (null: none, and that is not cached).
   * The generation is taken before the read: a revocation that committed and dropped entries while the
   * read was in flight may have come after the row was read, and such a record is not cached, or a
   * revoked token would come back.
   */
  async lookup(key: string, load: () => Promise<Value | null>): Promise<Value | null> {
    if (!this.cache) return load();
    const hit = this.cache.get(key);
    if (hit) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    const generation = this.#generation;
    const record = await load();
    if (record && generation === this.#generation) this.set(key, record);
    return record;
  }

  private set(key: string, record: Value): void {
    const expiresAt = this.expiresAt?.(record);
    const ttl = expiresAt ? Math.min(this.options.ttlMs, expiresAt.getTime() - Date.now()) : this.options.ttlMs;
    if (ttl <= 0) return;
    this.cache?.set(key, record, { ttl });
    for (const tag of this.tagsOf(record)) {
      let keys = this.byTag.get(tag);
      if (!keys) this.byTag.set(tag, keys = new Set());
      keys.add(key);
    }
  }

  /** Drops every cached record that carries the tag (`grant:<id>`, `user:<id>`, `client:<id>`, `token:<id>`). */
  drop(tag: string): void {
    this.#generation++;
    for (const key of this.byTag.get(tag) ?? []) this.cache?.delete(key);
  }

  /** Drops everything: the revocation feed lost track and cannot tell what was revoked meanwhile. */
  clear(): void {
    this.#generation++;
    this.cache?.clear();
  }

  private unindex(key: string, record: Value): void {
    for (const tag of this.tagsOf(record)) {
      const keys = this.byTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.byTag.delete(tag);
    }
  }
}
