import type { RevocationRepository } from '../repository/RevocationRepository';

export interface RevocationFeedOptions {
  /** How often the feed is read: the bound on how long another worker's or host's revocation takes to be seen here, less a query. */
  pollMs: number;
  /**
   * How far back each read looks, by the database's clock. Reads overlap so that a revocation
   * committed late (a slow commit, a cluster node applying it late) is still seen; a worker that
   * could not read for longer than this forgets its whole cache.
   */
  windowSeconds: number;
}

/** What the feed needs of the token cache. */
interface RevocableCache {
  drop(tag: string): void;
  clear(): void;
}

interface Logger {
  warn(message: string, ...args: unknown[]): void;
}

/**
 * Keeps this worker's token cache in step with revocations made anywhere (another worker, another
 * host, the command line): every `pollMs` it reads the revocations of the last `windowSeconds` and
 * drops the cached tokens they cover. Each revocation is applied once (by id); reading by time, not
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
    private readonly cache: RevocableCache,
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
        this.cache.clear();
      }
      for (const { id, tag } of tags) {
        if (this.applied.has(id)) continue;
        this.cache.drop(tag);
        this.applied.set(id, now);
      }
      for (const [ id, at ] of this.applied) {
        if (at < now - 2 * windowMs) this.applied.delete(id);
      }
      this.lastRead = now;
      if (this.failing) this.logger.warn('[revocation feed] reading again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn('[revocation feed] cannot read the feed (the token cache is cleared until it can): %s', (err as Error).message);
      this.failing = true;
      if (Date.now() - this.lastRead > windowMs - this.options.pollMs) this.cache.clear();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.poll().finally(() => this.schedule());
    }, this.options.pollMs);
    this.timer.unref();
  }
}
