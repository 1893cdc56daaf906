import type { RDSClient } from '@eggjs/rds';
import type { CleanupBatch } from './cleanupBatch';
import { isDeadlock, retryTransaction } from './retry';

export interface NewSmsCode {
  phone: string;
  userId: number;
  codeMac: string;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * SMS login codes: one row per phone number, the code as an HMAC (migrations/011). Every write is one
 * statement, retried on a conflict (1213: on a Galera cluster, two nodes that wrote the row at once).
 */
export class SmsCodeRepository {
  constructor(private readonly db: RDSClient) {}

  /** Stores the phone's new code in place of the one it had, which is void from then on. */
  async saveSmsCode(code: NewSmsCode): Promise<void> {
    await retryTransaction(() => this.db.query(
      `INSERT INTO sms_codes (phone, gmt_create, user_id, code_mac, expires_at, attempts, consumed_at)
        VALUES (?, ?, ?, ?, ?, 0, NULL)
        ON DUPLICATE KEY UPDATE gmt_create = VALUES(gmt_create), user_id = VALUES(user_id), code_mac = VALUES(code_mac),
          expires_at = VALUES(expires_at), attempts = 0, consumed_at = NULL`,
      [ code.phone, code.issuedAt, code.userId, code.codeMac, code.expiresAt ],
    ));
  }

  /**
   * Counts one login attempt against the phone's live code of this user: true when the code could
   * still be tried (not spent, not expired, fewer than `maxAttempts` tries so far). One conditional
   * UPDATE, so that parallel attempts never get more tries than that between them. A try that still
   * conflicts after every retry is not counted, and fails.
   */
  async countSmsCodeAttempt(phone: string, userId: number, now: Date, maxAttempts: number): Promise<boolean> {
    return this.updatedOne(
      `UPDATE sms_codes SET attempts = attempts + 1
        WHERE phone = ? AND user_id = ? AND consumed_at IS NULL AND expires_at > ? AND attempts < ?`,
      [ phone, userId, now, maxAttempts ],
    );
  }

  /**
   * Spends the code when it is this one: true for the one caller that did. One that still conflicts
   * after every retry lost to another writer of the row (another login, a new code): false.
   */
  async consumeSmsCode(phone: string, userId: number, codeMac: string, now: Date): Promise<boolean> {
    return this.updatedOne(
      `UPDATE sms_codes SET consumed_at = ?
        WHERE phone = ? AND user_id = ? AND code_mac = ? AND consumed_at IS NULL AND expires_at > ?`,
      [ now, phone, userId, codeMac, now ],
    );
  }

  /** Deletes this code (its SMS could not be sent), unless a newer one has replaced it meanwhile. */
  async removeSmsCode(phone: string, codeMac: string): Promise<void> {
    await retryTransaction(() => this.db.query('DELETE FROM sms_codes WHERE phone = ? AND code_mac = ?', [ phone, codeMac ]));
  }

  /** Deletes up to `limit` codes that expired before `before` (see CleanupBatch). */
  async removeExpiredSmsCodes(before: Date, limit: number): Promise<CleanupBatch> {
    const found: Array<{ phone: string }> = await this.db.query(
      'SELECT phone FROM sms_codes FORCE INDEX (idx_expires_at) WHERE expires_at < ? LIMIT ?', [ before, limit ]);
    if (found.length === 0) return { matched: 0, removed: 0 };
    const result = await retryTransaction(() => this.db.query(
      'DELETE c FROM sms_codes c FORCE INDEX (PRIMARY) WHERE c.phone IN (?) AND c.expires_at < ?',
      [ found.map(row => row.phone), before ],
    ));
    return { matched: found.length, removed: result.affectedRows };
  }

  /** A conditional UPDATE of one row, retried on a conflict: whether it changed the row (false once conflicts outlast the retries). */
  private async updatedOne(sql: string, values: unknown[]): Promise<boolean> {
    try {
      const result = await retryTransaction(() => this.db.query(sql, values));
      return result.affectedRows === 1;
    } catch (err) {
      if (isDeadlock(err)) return false;
      throw err;
    }
  }
}
