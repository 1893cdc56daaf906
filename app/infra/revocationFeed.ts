import type { RevocationRepository } from '../repository/RevocationRepository';

export interface RevocationFeedOptions {
  /** How often the feed is read: the bound on how long another worker's or host's revocation takes to be seen here, less a query. */
  pollMs: number;
  /**
   * How far back each read looks, by the database's clock. Reads overlap so that a revocation
   * committed late (a slow commit, a cluster node applying it late) is still seen; a worker that
   * could not read for longer than this clears its caches.
   */
  windowSeconds: number;
}

/** What the feed needs of a cache it keeps in step (infra/taggedCache). */
interface RevocableCache {
  drop(tag: string): void;
  clear(): void;
}

interface Logger {
  warn(message: string, ...args: unknown[]): void;
}

/**
 * Keeps this worker's caches (tokens, clients) in step with revocations made anywhere (another worker,
 * another host, the command line): every `pollMs` it reads the revocations of the last `windowSeconds`
 * and drops the cached entries they cover. Each revocation is applied once (by id); reading by time, not
 * by `id > last`, because ids are neither consecutive nor committed in order on a Galera cluster.
 */
export class RevocationFeed {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Revocation id → when it was applied (ms), kept as long as the window can return it. */
  private readonly applied = new Map<string, number>();
  private lastRead = Date.now();
  private failing = false;

  constructor(
    private readonly revocations: RevocationRepository,
    private readonly caches: RevocableCache[],
    private readonly options: RevocationFeedOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.lastRead = Date.now();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Seconds since the last successful read (GET /metrics). */
  get ageSeconds(): number {
    return (Date.now() - this.lastRead) / 1000;
  }

  /** One read of the feed; the timer calls it, tests may too. */
  async poll(): Promise<void> {
    const windowMs = this.options.windowSeconds * 1000;
    try {
      const tags = await this.revocations.listRecentRevocations(this.options.windowSeconds);
      const now = Date.now();
      if (now - this.lastRead > windowMs - this.options.pollMs) {
        // Reads stopped long enough for a revocation to have left the window unseen.
        this.clearAll();
      }
      for (const { id, tag } of tags) {
        if (this.applied.has(id)) continue;
        for (const cache of this.caches) cache.drop(tag);
        this.applied.set(id, now);
      }
      for (const [ id, at ] of this.applied) {
        if (at < now - 2 * windowMs) this.applied.delete(id);
      }
      this.lastRead = now;
      if (this.failing) this.logger.warn('[revocation feed] reading again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn('[revocation feed] cannot read the feed (the token and client caches are cleared until it can): %s', (err as Error).message);
      this.failing = true;
      if (Date.now() - this.lastRead > windowMs - this.options.pollMs) this.clearAll();
    }
  }

  private clearAll(): void {
    for (const cache of this.caches) cache.clear();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll().finally(() => this.schedule());
    }, this.options.pollMs);
    this.timer.unref();
  }
}
