import { hash, randomFillSync } from 'node:crypto';

/**
 * Random bytes for tokens and grant ids, drawn from a buffer that the CSPRNG fills 4 KiB at a time, as
 * Node's own randomUUID batches its UUIDs: each crypto.randomBytes call has a fixed cost (a job through
 * OpenSSL) that was 6 % of a worker's time on client_credentials issuance, which draws two. Each byte
 * is handed out once, and zeroed as it is.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let next = POOL_BYTES;

function randomHex(bytes: number): string {
  if (next + bytes > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  const hex = pool.toString('hex', next, next + bytes);
  pool.fill(0, next, next + bytes);
  next += bytes;
  return hex;
}

/** A new bearer or refresh token: 256 random bits as 64 hex characters. */
export function generateToken(): string {
  return randomHex(32);
}

/** The only form in which a token is stored: SHA-256, hex (one-shot: no Hash object per Bearer check). */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** A grant is one login; every token issued from it carries this id so it can be revoked as one. */
export function generateGrantId(): string {
  return randomHex(16);
}
