import { hash, randomBytes } from 'node:crypto';

/** A new bearer or refresh token: 256 random bits as 64 hex characters. */
export function generateToken(): string {
  return randomBytes(32).toString('hex');
}

/** The only form in which a token is stored: SHA-256, hex (one-shot: no Hash object per Bearer check). */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** A grant is one login; every token issued from it carries this id so it can be revoked as one. */
export function generateGrantId(): string {
  return randomBytes(16).toString('hex');
}
