import { createHmac, randomInt } from 'node:crypto';
import type { SmsCodeRepository } from '../repository/SmsCodeRepository';
import { withoutHash } from '../repository/UserRepository';
import type { LoginCandidate, LoginResult } from './credentials';

export interface SmsCodeOptions {
  /** The HMAC key of stored codes (SMS_CODE_KEY). */
  key: string;
  /** Seconds a code may be used. */
  ttlSeconds: number;
  /** Login attempts per code, right or wrong: past them, the code is dead. */
  maxAttempts: number;
}

/** Six digits, as SMS login codes have. */
const CODE_DIGITS = 6;

/**
 * One-time login codes sent by SMS: six random digits, stored only as an HMAC under a
 * server key (a plain hash of a six-digit code is reversed by trying the million of them), valid
 * `ttlSeconds`, spent by the one login that uses it, dead after `maxAttempts` tries. A phone has one
 * live code: a new one voids the one before.
 */
export class SmsCodes {
  constructor(private readonly repo: SmsCodeRepository, private readonly options: SmsCodeOptions) {}

  /** The clock; tests move it. */
  now(): Date {
    return new Date();
  }

  private mac(phone: string, code: string): string {
    return createHmac('sha256', this.options.key).update(`${phone}:${code}`, 'utf8').digest('hex');
  }

  /** A new code for this user's phone (E.164), stored in place of the one before; returns it to be sent. */
  async issue(phone: string, userId: number): Promise<string> {
    const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
    const now = this.now();
    await this.repo.saveSmsCode({
      phone, userId, codeMac: this.mac(phone, code), issuedAt: now, expiresAt: new Date(now.getTime() + this.options.ttlSeconds * 1000),
    });
    return code;
  }

  /** Takes back a code whose SMS was not sent: it must never count as sent. */
  async withdraw(phone: string, code: string): Promise<void> {
    await this.repo.removeSmsCode(phone, this.mac(phone, code));
  }

  /**
   * The login of an SMS code (`grant_type=password&auth_type=sms`): the user `findLogin` found by the
   * phone number, when `code` is its live code. Every try counts against the code first, so that its
   * sixth try fails even with the right code; then the code is spent at most once. Wrong, expired,
   * spent and worn-out codes are one failure, `wrong_code`; the reasons beside it are a password's.
   */
  async verify({ user, phone }: LoginCandidate, code: string): Promise<LoginResult> {
    if (!user || !phone) return { failure: 'unknown_user' };
    const now = this.now();
    const counted = await this.repo.countSmsCodeAttempt(phone, user.id, now, this.options.maxAttempts);
    if (!counted || !await this.repo.consumeSmsCode(phone, user.id, this.mac(phone, code), now)) {
      return { failure: 'wrong_code', userId: user.id };
    }
    if (!user.enabled) return { failure: 'disabled_user', userId: user.id };
    return { user: withoutHash(user) };
  }
}
