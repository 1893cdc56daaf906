import { createHmac } from 'node:crypto';
import { canonicalUsername } from './username';

/** Security events of the audit log (one JSON object per line, logs/…/audit.log). */
export type AuditEvent =
  | 'login_success' | 'login_failure' | 'client_auth_failure' | 'throttled'
  | 'token_refresh' | 'refresh_reuse' | 'code_reuse' | 'revocation' | 'admin'
  | 'sms_code_sent' | 'sms_code_not_sent';

/** Why a login failed; internal only: the client always gets the same invalid_grant. */
export type LoginFailure = 'unknown_user' | 'wrong_password' | 'disabled_user' | 'wrong_code';

export interface AuditFields {
  requestId?: string;
  ip?: string;
  userId?: number | null;
  clientId?: string;
  grantId?: string;
  reason?: string;
  /** For an attempted username that matches no user: a hash, since people type passwords there. */
  usernameHash?: string;
  [field: string]: string | number | boolean | null | undefined;
}

export function auditLine(event: AuditEvent, fields: AuditFields, now = new Date()): string {
  return JSON.stringify({ time: now.toISOString(), event, ...fields });
}

/**
 * Correlates attempts on one unknown username without writing what was typed (often a password):
 * an HMAC under the app's key, so that it cannot be checked against guesses without the key.
 */
export function usernameHash(username: string, secret: string): string {
  return createHmac('sha256', secret).update(canonicalUsername(username), 'utf8').digest('hex')
    .slice(0, 16);
}
