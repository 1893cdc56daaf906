import { createHash, randomBytes } from 'node:crypto';

/** A new bearer or refresh token: 256 random bits as 64 hex characters. */
export function generateToken(): string {
  return randomBytes(32).toString('hex');
}

/** The only form in which a token is stored: SHA-256, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A grant is one login; every token issued from it carries this id so it can be revoked as one. */
export function generateGrantId(): string {
  return randomBytes(16).toString('hex');
}
