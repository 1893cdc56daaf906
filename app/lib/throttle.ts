import { createHash } from 'node:crypto';
import type { ThrottlePolicy, ThrottleRepository } from '../repository/ThrottleRepository';

export interface ThrottleConfig {
  enabled: boolean;
  /** Failed logins for one username from one IP: the first, short lock. */
  userIp: ThrottlePolicy;
  /** Failed logins for one username from any IP (one account guessed from many IPs). */
  user: ThrottlePolicy;
  /** Failed logins and client authentications from one IP (credential stuffing over many usernames). */
  ip: ThrottlePolicy;
  /** Failed authentications of one client id (client-secret guessing). */
  client: ThrottlePolicy;
}

export interface LoginAttempt {
  ip: string;
  clientId?: string;
  /** Only for the password grant. */
  username?: string;
}

type PolicyName = 'userIp' | 'user' | 'ip' | 'client';

function key(policy: PolicyName, ...parts: string[]): string {
  return createHash('sha256').update(`${policy}:${parts.join('\n')}`, 'utf8').digest('hex');
}

/** Usernames are matched case-insensitively, as the users table does. */
function normalise(username: string): string {
  return username.trim().toLowerCase();
}

/**
 * Brute-force throttling of the token endpoint (RFC 6749 §4.3.2, RFC 6819 §4.4.3.6), with its
 * counters in MySQL so that it holds across workers and hosts. Unknown usernames are counted exactly
 * like real ones, so that a lock tells nothing about who exists.
 */
export class LoginThrottle {
  constructor(private readonly repo: ThrottleRepository, private readonly config: ThrottleConfig) {}

  /** The clock; tests move it. */
  now(): Date {
    return new Date();
  }

  private keys(attempt: LoginAttempt): Array<[PolicyName, string]> {
    const keys: Array<[PolicyName, string]> = [[ 'ip', key('ip', attempt.ip) ]];
    if (attempt.username !== undefined) {
      const username = normalise(attempt.username);
      keys.push([ 'userIp', key('userIp', username, attempt.ip) ], [ 'user', key('user', username) ]);
    }
    if (attempt.clientId !== undefined) keys.push([ 'client', key('client', attempt.clientId) ]);
    return keys;
  }

  /**
   * Seconds until this attempt may be made (0: now), and whether the user has failure counters that
   * a success must reset (most logins have none: no write then).
   */
  async check(attempt: LoginAttempt): Promise<{ retryAfter: number; userCounters: boolean }> {
    if (!this.config.enabled) return { retryAfter: 0, userCounters: false };
    const now = this.now();
    const keys = this.keys(attempt);
    const counters = await this.repo.findCounters(keys.map(([ , k ]) => k));
    let until = 0;
    for (const blockedUntil of counters.values()) {
      if (blockedUntil && blockedUntil.getTime() > until) until = blockedUntil.getTime();
    }
    return {
      retryAfter: until > now.getTime() ? Math.max(1, Math.ceil((until - now.getTime()) / 1000)) : 0,
      userCounters: keys.some(([ policy, k ]) => (policy === 'userIp' || policy === 'user') && counters.has(k)),
    };
  }

  /** A wrong username or password. */
  async recordUserFailure(attempt: LoginAttempt): Promise<void> {
    await this.record(attempt, [ 'userIp', 'user', 'ip' ]);
  }

  /** A wrong client id or secret. */
  async recordClientFailure(attempt: LoginAttempt): Promise<void> {
    await this.record(attempt, [ 'client', 'ip' ]);
  }

  /** A successful login resets the user's counters (not the IP's: one good password among many tries proves nothing). */
  async recordSuccess(attempt: LoginAttempt): Promise<void> {
    if (!this.config.enabled || attempt.username === undefined) return;
    const keys = this.keys(attempt).filter(([ policy ]) => policy === 'userIp' || policy === 'user');
    await this.repo.removeKeys(keys.map(([ , k ]) => k));
  }

  private async record(attempt: LoginAttempt, policies: PolicyName[]): Promise<void> {
    if (!this.config.enabled) return;
    const now = this.now();
    for (const [ policy, k ] of this.keys(attempt)) {
      if (policies.includes(policy)) await this.repo.saveFailure(k, this.config[policy], now);
    }
  }
}
