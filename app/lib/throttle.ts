import { createHmac } from 'node:crypto';
import type { Counter, CounterChange, ThrottlePolicy, ThrottleRepository } from '../repository/ThrottleRepository';

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

type PolicyName = keyof Omit<ThrottleConfig, 'enabled'>;

/** The counters an attempt took, and their blocks before it: settled once its outcome is known. */
export interface Reservation {
  keys: Array<[PolicyName, string]>;
  blockedBefore: Map<string, Date | null>;
}

/**
 * The form of a username that the users table matches (utf8mb4_unicode_ci ignores case, accents,
 * width and invisible characters): `démo`, `ＤＥＭＯ` and `demo` are one account, so one counter.
 */
export function canonicalUsername(username: string): string {
  return username.normalize('NFKD').replace(/[\p{M}\p{Cf}]/gu, '').trim()
    .toLowerCase();
}

/** IPv6 clients usually hold a whole /64: they are counted per /64. */
export function ipSubject(ip: string): string {
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
 * Every attempt is counted before any password or secret is checked, under a row lock, so that a
 * burst of parallel guesses cannot pass the check together; an attempt that turns out not to be a
 * failure gives its count back. A key is blocked once it reaches its threshold, for a step that grows
 * with each further failure, up to a cap. Unknown usernames are counted exactly like real ones.
 * Counter keys are HMACs under the app's key: no username or IP can be read back from the table.
 */
export class LoginThrottle {
  constructor(private readonly repo: ThrottleRepository, private readonly config: ThrottleConfig, private readonly secret: string) {}

  /** The clock; tests move it. */
  now(): Date {
    return new Date();
  }

  private key(policy: PolicyName, ...parts: string[]): string {
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

  /**
   * Counts the attempt. Refused (with the seconds to wait) while one of its keys is blocked; then
   * nothing is counted, so that the block ends when it says.
   */
  async begin(attempt: Attempt): Promise<{ retryAfter: number; reservation?: Reservation }> {
    if (!this.config.enabled) return { retryAfter: 0 };
    const now = this.now();
    const keys = this.keys(attempt);
    return this.repo.updateCounters<{ retryAfter: number; reservation?: Reservation }>(keys.map(([ , k ]) => k), now, counters => {
      const changes = new Map<string, CounterChange>();
      const blockedUntil = Math.max(0, ...[ ...counters.values() ].map(c => c.blockedUntil?.getTime() ?? 0));
      if (blockedUntil > now.getTime()) {
        return { changes, result: { retryAfter: Math.ceil((blockedUntil - now.getTime()) / 1000) } };
      }
      const blockedBefore = new Map<string, Date | null>();
      for (const [ policy, key ] of keys) {
        const counter = counters.get(key);
        blockedBefore.set(key, counter?.blockedUntil ?? null);
        changes.set(key, this.countFailure(counter, this.config[policy], now));
      }
      return { changes, result: { retryAfter: 0, reservation: { keys, blockedBefore } } };
    });
  }

  /**
   * Settles the counts of an attempt from `begin` once its outcome is known: a failure keeps its
   * count; anything else gives it back, with the block it started; a right password clears the user's
   * counters.
   */
  async settle(reservation: Reservation, outcome: Outcome): Promise<void> {
    const now = this.now();
    const { keys, blockedBefore } = reservation;
    await this.repo.updateCounters(keys.map(([ , k ]) => k), now, counters => {
      const changes = new Map<string, CounterChange>();
      for (const [ policy, key ] of keys) {
        const counter = counters.get(key);
        if (!counter) continue;
        const isUser = policy === 'user' || policy === 'userIp';
        const failed = isUser ? outcome.userFailed
          : policy === 'clientIp' ? outcome.clientFailed
            : outcome.userFailed || outcome.clientFailed;
        if (isUser && outcome.userSucceeded) changes.set(key, 'delete');
        else if (!failed) changes.set(key, { ...counter, failures: Math.max(0, counter.failures - 1), blockedUntil: blockedBefore.get(key) ?? null });
      }
      return { changes, result: undefined };
    });
  }

  private countFailure(counter: Counter | undefined, policy: ThrottlePolicy, now: Date): Counter {
    const expired = !counter || counter.windowStartedAt.getTime() < now.getTime() - policy.windowSeconds * 1000;
    const failures = expired ? 1 : counter.failures + 1;
    const windowStartedAt = expired ? now : counter.windowStartedAt;
    const blockSeconds = failures >= policy.threshold
      ? Math.min(policy.maxBlockSeconds, policy.stepSeconds * (failures - policy.threshold + 1))
      : 0;
    return { failures, windowStartedAt, blockedUntil: blockSeconds > 0 ? new Date(now.getTime() + blockSeconds * 1000) : counter?.blockedUntil ?? null };
  }
}
