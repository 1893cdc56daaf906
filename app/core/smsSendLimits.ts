import { createHmac } from 'node:crypto';
import type { Counter, CounterChange, ThrottleRepository } from '../repository/ThrottleRepository';
import { ipSubject } from './throttle';

/** At most `limit` codes within `windowSeconds` of the first. */
export interface SendLimit {
  limit: number;
  windowSeconds: number;
}

export interface SmsSendLimits {
  /** Per phone number: the short one (1 per 60 s). */
  phoneMinute: SendLimit;
  /** Per phone number: the long one (5 per hour). */
  phoneHour: SendLimit;
  /** Per client address, IPv6 per /64 (20 per hour). */
  ip: SendLimit;
  /** All numbers together: what the SMS bill may reach in a day. */
  daily: SendLimit;
}

type LimitName = keyof SmsSendLimits;

/**
 * The send limits of SMS login codes, shared by every worker and host: counters in the login
 * throttle's table (ThrottleRepository.updateCounters: read under row locks, decided, written in one
 * transaction), keyed by HMACs under the app's key of their own policy names, so that neither a phone
 * number nor an address can be read back, and cleaned up with the throttle's counters (a day after
 * their window started, longer than any window here). A counter's `failures` counts the requests of
 * its window. Every request is counted, whether the number belongs to anybody or not: the limits are
 * the same for all numbers, so they tell nothing about which are registered.
 */
export class SmsSendLimiter {
  /** `limits` is read on every request: tests change it. */
  constructor(private readonly repo: ThrottleRepository, private readonly limits: SmsSendLimits, private readonly secret: string) {}

  /** The clock; tests move it. */
  now(): Date {
    return new Date();
  }

  private key(name: LimitName, subject: string): string {
    return createHmac('sha256', this.secret).update(`sms:${name}\n${subject}`, 'utf8').digest('hex');
  }

  /**
   * Counts a request to send a code to `phone` (E.164) from `ip`, or refuses it with the seconds until
   * every limit it is over lets one through again (and counts nothing).
   */
  async consume({ phone, ip }: { phone: string; ip: string }): Promise<{ retryAfter: number }> {
    const now = this.now();
    const keys: Array<[LimitName, string]> = [
      [ 'phoneMinute', this.key('phoneMinute', phone) ],
      [ 'phoneHour', this.key('phoneHour', phone) ],
      [ 'ip', this.key('ip', ipSubject(ip)) ],
      [ 'daily', this.key('daily', '') ],
    ];
    return this.repo.updateCounters(keys.map(([ , key ]) => key), stored => {
      const counters = keys.map(([ name, key ]) => ({ name, key, counter: this.current(stored.get(key), this.limits[name], now) }));
      const full = counters.filter(({ name, counter }) => counter.failures >= this.limits[name].limit);
      if (full.length > 0) {
        const until = Math.max(...full.map(({ name, counter }) => counter.windowStartedAt.getTime() + this.limits[name].windowSeconds * 1000));
        return { changes: null, result: { retryAfter: Math.max(1, Math.ceil((until - now.getTime()) / 1000)) } };
      }
      const changes = new Map<string, CounterChange>();
      for (const { key, counter } of counters) changes.set(key, { ...counter, failures: counter.failures + 1 });
      return { changes, result: { retryAfter: 0 } };
    });
  }

  /** The counter of the window under way: a new one once the last has passed. */
  private current(counter: Counter | undefined, limit: SendLimit, now: Date): Counter {
    if (!counter || counter.windowStartedAt.getTime() <= now.getTime() - limit.windowSeconds * 1000) {
      return { failures: 0, pending: 0, pendingSince: null, windowStartedAt: now, blockedUntil: null };
    }
    return counter;
  }
}
