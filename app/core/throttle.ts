import { createHmac } from 'node:crypto';
import type { Counter, CounterChange, ThrottlePolicy, ThrottleRepository } from '../repository/ThrottleRepository';
import { canonicalUsername } from './username';

export interface ThrottleConfig {
  enabled: boolean;
  /** Failed logins for one username from one IP: the first, short lock. */
  userIp: ThrottlePolicy;
  /** Failed logins for one username from any IP (one account guessed from many IPs). */
  user: ThrottlePolicy;
  /** Failed logins and client authentications from one IP (credential stuffing over many usernames). */
  ip: ThrottlePolicy;
  /** Failed authentications of one client id from one IP (client-secret guessing). */
  clientIp: ThrottlePolicy;
  /**
   * Seconds an address (IPv4, or IPv6 /64) stays known for a username after a successful login from
   * it: there, only the user-and-address limit applies; failures from elsewhere never lock it out.
   */
  knownAddressSeconds: number;
  /**
   * Seconds after which an attempt still counted as in flight is forgotten: its request died (a
   * worker crash, the database gone while settling) and will never settle it.
   */
  reservationSeconds: number;
}

export interface Attempt {
  ip: string;
  clientId?: string;
  /** Only for the password grant. */
  username?: string;
}

/** How an attempt ended, for its counters. */
export interface Outcome {
  /** The username and password were checked and were right: the user's counters restart. */
  userSucceeded?: boolean;
  /** The username or password was wrong. */
  userFailed?: boolean;
  /** The client id or secret was wrong. */
  clientFailed?: boolean;
}

type PolicyName = 'userIp' | 'user' | 'ip' | 'clientIp';

/** The counters an attempt was counted in: settled once its outcome is known. */
export interface Reservation {
  keys: Array<[PolicyName, string]>;
  /** For a password attempt: the key of its username and address, trusted after a success. */
  knownAddressKey?: string;
}

/**
 * IPv6 clients usually hold a whole /64: they are counted per /64. A request whose client has already
 * gone has no address (Node drops it with the socket): counted under one shared subject.
 */
export function ipSubject(ip: string | undefined): string {
  if (!ip) return 'unknown';
  if (!ip.includes(':') || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip)) return ip.replace(/^::ffff:/i, '');
  const [ head, tail = '' ] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [ ...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right ];
  return `${groups.slice(0, 4).map(g => parseInt(g || '0', 16).toString(16)).join(':')}::/64`;
}

/**
 * Brute-force throttling of the token endpoint (RFC 6749 §4.3.2, RFC 6819 §4.4.3.6) and of client
 * authentication, with its counters in MySQL so that it holds across workers and hosts.
 *
 * Each attempt is counted as pending before any password or secret is checked, under a row lock,
 * and settled once its outcome is known: a failure becomes a failure, anything else is forgotten. A
 * key admits no more attempts in flight than it has failures left before its threshold (one at a time
 * past it), so a burst of parallel guesses cannot slip past the count (429, retry in 1 s). Once the failures
 * alone reach the threshold, the key is blocked for a step that grows with each further failure, up
 * to a cap; the count restarts when its window has passed. Unknown usernames are counted exactly like
 * real ones. Keys are HMACs under the app's key: no username or IP can be read back from the table.
 *
 * A username and an address from which it logged in successfully lately are a known pair (OWASP's
 * "device cookie", keyed by address since API clients keep no cookies): there the username-wide and
 * address-wide keys are counted but do not refuse, so strangers' failures elsewhere, or a carrier NAT
 * full of guessers, cannot lock the owner out; the user-and-address limit still applies there.
 */
export class LoginThrottle {
  constructor(private readonly repo: ThrottleRepository, private readonly config: ThrottleConfig, private readonly secret: string) {}

  /** The clock; tests move it. */
  now(): Date {
    return new Date();
  }

  private key(policy: PolicyName | 'knownAddress', ...parts: string[]): string {
    return createHmac('sha256', this.secret).update(`${policy}\n${parts.join('\n')}`, 'utf8').digest('hex');
  }

  private keys(attempt: Attempt): Array<[PolicyName, string]> {
    const ip = ipSubject(attempt.ip);
    const keys: Array<[PolicyName, string]> = [[ 'ip', this.key('ip', ip) ]];
    if (attempt.username !== undefined) {
      const username = canonicalUsername(attempt.username);
      keys.push([ 'userIp', this.key('userIp', username, ip) ], [ 'user', this.key('user', username) ]);
    }
    if (attempt.clientId !== undefined) keys.push([ 'clientIp', this.key('clientIp', attempt.clientId, ip) ]);
    return keys;
  }

  /** Counts the attempt as pending, or refuses it (with the seconds to wait) and counts nothing. */
  async begin(attempt: Attempt): Promise<{ retryAfter: number; reservation?: Reservation }> {
    if (!this.config.enabled) return { retryAfter: 0 };
    const now = this.now();
    const keys = this.keys(attempt);
    const knownAddressKey = attempt.username === undefined ? undefined
      : this.key('knownAddress', canonicalUsername(attempt.username), ipSubject(attempt.ip));
    return this.repo.updateCounters<{ retryAfter: number; reservation?: Reservation }>(keys.map(([ , k ]) => k), (stored, knownAddressAt) => {
      const known = knownAddressAt !== null && knownAddressAt.getTime() > now.getTime() - this.config.knownAddressSeconds * 1000;
      const counters = keys.map(([ policy, key ]) => ({ policy, key, counter: this.current(stored.get(key), this.config[policy], now) }));
      // From a known address, only the user-and-address key refuses.
      const enforced = known ? counters.filter(({ policy }) => policy === 'userIp') : counters;
      const blockedUntil = Math.max(0, ...enforced.map(({ counter }) => counter.blockedUntil?.getTime() ?? 0));
      if (blockedUntil > now.getTime()) {
        return { changes: null, result: { retryAfter: Math.ceil((blockedUntil - now.getTime()) / 1000) } };
      }
      // In flight at once: what is left below the threshold, and one attempt at a time past it (after
      // each block), so that a key over its threshold is slowed, never shut.
      if (enforced.some(({ policy, counter }) => counter.pending >= Math.max(1, this.config[policy].threshold - counter.failures))) {
        return { changes: null, result: { retryAfter: 1 } };
      }
      const changes = new Map<string, CounterChange>();
      for (const { key, counter } of counters) changes.set(key, { ...counter, pending: counter.pending + 1, pendingSince: now });
      return { changes, result: { retryAfter: 0, reservation: { keys, knownAddressKey } } };
    }, knownAddressKey);
  }

  /**
   * Settles an attempt from `begin`: a failure of what a key counts stays a failure (and may start a
   * block); a right username and password clears the user-and-address counter only (clearing the
   * username-wide one would hand a distributed guesser a fresh allowance at every login of the owner)
   * and makes the address known; anything else is forgotten. A settle that fails nothing (every
   * successful login) changes nothing that depends on a counter's value, so it is written without
   * reading: one round trip, no lock held while the app decides (ThrottleRepository.releaseCounters).
   */
  async settle(reservation: Reservation, outcome: Outcome): Promise<void> {
    const now = this.now();
    const { keys, knownAddressKey } = reservation;
    const failed = (policy: PolicyName) => (policy === 'user' || policy === 'userIp' ? outcome.userFailed
      : policy === 'clientIp' ? outcome.clientFailed
        : outcome.userFailed || outcome.clientFailed);
    if (!keys.some(([ policy ]) => failed(policy))) {
      const cleared = outcome.userSucceeded ? keys.filter(([ policy ]) => policy === 'userIp') : [];
      await this.repo.releaseCounters(
        keys.filter(k => !cleared.includes(k)).map(([ , k ]) => k),
        cleared.map(([ , k ]) => k),
        outcome.userSucceeded && knownAddressKey ? { key: knownAddressKey, at: now } : undefined,
      );
      return;
    }
    await this.repo.updateCounters(keys.map(([ , k ]) => k), stored => {
      const changes = new Map<string, CounterChange>();
      for (const [ policy, key ] of keys) {
        const config = this.config[policy];
        const counter = this.current(stored.get(key), config, now);
        const settled = { ...counter, pending: Math.max(0, counter.pending - 1) };
        if (failed(policy)) {
          settled.failures += 1;
          if (settled.failures >= config.threshold) {
            const seconds = Math.min(config.maxBlockSeconds, config.stepSeconds * (settled.failures - config.threshold + 1));
            settled.blockedUntil = new Date(now.getTime() + seconds * 1000);
          }
        }
        changes.set(key, settled);
      }
      return { changes, result: undefined };
    });
  }

  /**
   * The counter as it stands now: once its window has passed it starts over, keeping a block that is
   * still running; attempts in flight for longer than the reservation lifetime are forgotten (the
   * newest started at pendingSince, so all of them are that old).
   */
  private current(counter: Counter | undefined, policy: ThrottlePolicy, now: Date): Counter {
    if (!counter || counter.windowStartedAt.getTime() < now.getTime() - policy.windowSeconds * 1000) {
      return { failures: 0, pending: 0, pendingSince: null, windowStartedAt: now, blockedUntil: counter?.blockedUntil ?? null };
    }
    if (counter.pending > 0 && (counter.pendingSince?.getTime() ?? 0) < now.getTime() - this.config.reservationSeconds * 1000) {
      return { ...counter, pending: 0, pendingSince: null };
    }
    return counter;
  }
}
