import { type SigningKeys, SigningKeyError } from '../core/signingKeys';
import type { ClientRepository } from '../repository/ClientRepository';
import type { JwtConfig } from '../../config/signing';

/** Clocks of hosts differ a little: a retired key stays published this much longer than its last token. */
const CLOCK_SKEW_SECONDS = 60;

interface Logger {
  warn(message: string, ...args: unknown[]): void;
}

/**
 * Reloads this worker's signing keys every `keyRefreshSeconds`, so that a rotation made by the command
 * line or another host is seen within that time, and moves the keys' stored states along (a due
 * `next` key becomes active; a retired key is deleted once the longest-lived JWT it signed has expired).
 */
export class SigningKeyRefresh {
  private timer?: NodeJS.Timeout;
  private failing = false;

  constructor(
    private readonly keys: SigningKeys,
    private readonly clients: ClientRepository,
    private readonly config: Pick<JwtConfig, 'accessTokenLifetime' | 'keyRefreshSeconds'>,
    private readonly logger: Logger,
  ) {}

  /** One reload; throws what stops it (the database, a key sealed under a KEK that JWT_KEKS lacks). */
  async refresh(now = new Date()): Promise<void> {
    const longest = await this.clients.findLongestJwtLifetime(this.config.accessTokenLifetime);
    await this.keys.refresh(longest + CLOCK_SKEW_SECONDS, now);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.refresh().then(() => {
        if (this.failing) this.logger.warn('[signing keys] reloading again');
        this.failing = false;
      }, err => {
        // The keys already loaded keep signing; a new rotation waits for the next reload.
        if (!this.failing) this.logger.warn('[signing keys] cannot reload the signing keys: %s', (err as Error).message);
        this.failing = true;
      });
    }, this.config.keyRefreshSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Loads the signing keys before the first request and returns what keeps them fresh. Without the KEKs
 * (production without JWT_KEKS) nothing can be signed: refused while a client wants JWT access tokens.
 */
export async function loadSigningKeys(
  keys: SigningKeys, clients: ClientRepository, config: Pick<JwtConfig, 'accessTokenLifetime' | 'keyRefreshSeconds'>, logger: Logger,
): Promise<SigningKeyRefresh | undefined> {
  if (!keys.canSign) {
    if (await clients.hasJwtClients()) throw new SigningKeyError('clients are registered for JWT access tokens: set JWT_KEKS (see the README, "JWT access tokens")');
    return undefined;
  }
  const refresh = new SigningKeyRefresh(keys, clients, config, logger);
  await refresh.refresh();
  return refresh;
}
