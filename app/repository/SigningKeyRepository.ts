import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';

export type SigningKeyState = 'next' | 'active' | 'retired';

export interface SigningKeyRecord {
  kid: string;
  alg: string;
  /** The public half as a JWK (JSON text). */
  publicJwk: string;
  /** The private half, sealed (core/signingKeys). */
  privateSealed: string;
  state: SigningKeyState;
  createdAt: Date;
  activatesAt: Date;
  retiredAt: Date | null;
  removeAfter: Date | null;
}

export type NewSigningKey = Pick<SigningKeyRecord, 'kid' | 'alg' | 'publicJwk' | 'privateSealed' | 'state' | 'activatesAt'>;

interface SigningKeyRow {
  kid: string;
  alg: string;
  public_jwk: string;
  private_sealed: string;
  state: SigningKeyState;
  gmt_create: Date;
  activates_at: Date;
  retired_at: Date | null;
  remove_after: Date | null;
}

function toRecord(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    privateSealed: row.private_sealed,
    state: row.state,
    createdAt: row.gmt_create,
    activatesAt: row.activates_at,
    retiredAt: row.retired_at,
    removeAfter: row.remove_after,
  };
}

export class SigningKeyRepository {
  constructor(private readonly db: RDSClient) {}

  /** Every stored key, the one that signs longest first. */
  async listKeys(): Promise<SigningKeyRecord[]> {
    const rows: SigningKeyRow[] = await this.db.query('SELECT * FROM oauth_signing_keys ORDER BY activates_at DESC, kid DESC');
    return rows.map(toRecord);
  }

  async saveKey(key: NewSigningKey): Promise<void> {
    await this.db.query(
      'INSERT INTO oauth_signing_keys (kid, alg, public_jwk, private_sealed, state, activates_at) VALUES (?, ?, ?, ?, ?, ?)',
      [ key.kid, key.alg, key.publicJwk, key.privateSealed, key.state, key.activatesAt ],
    );
  }

  /**
   * Inserts `key` as the active key only when no key signs at `now` yet (the first JWT of a fresh
   * database). Two processes racing may both insert one: the newer then retires the other
   * (activateDueKeys). Returns whether it was inserted.
   */
  async saveFirstKey(key: NewSigningKey, now: Date): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO oauth_signing_keys (kid, alg, public_jwk, private_sealed, state, activates_at)
        SELECT ?, ?, ?, ?, 'active', ? FROM DUAL
         WHERE NOT EXISTS (SELECT 1 FROM oauth_signing_keys WHERE state IN ('active', 'next') AND activates_at <= ?)`,
      [ key.kid, key.alg, key.publicJwk, key.privateSealed, key.activatesAt, now ],
    );
    return result.affectedRows === 1;
  }

  /**
   * Brings the stored states up to `now`: of the keys due to sign (active, or next whose publish delay
   * is over), the newest becomes active and the others retired, to be removed `retentionSeconds` after
   * the newest took over. Returns how many keys changed state. Retried on a deadlock (two workers at it).
   */
  async activateDueKeys(now: Date, retentionSeconds: number): Promise<number> {
    return retryTransaction(() => this.db.beginTransactionScope(async conn => {
      const due: Array<{ kid: string; state: SigningKeyState; activates_at: Date }> = await conn.query(
        `SELECT kid, state, activates_at FROM oauth_signing_keys
          WHERE state IN ('active', 'next') AND activates_at <= ?
          ORDER BY activates_at DESC, kid DESC FOR UPDATE`,
        [ now ],
      );
      const [ newest, ...older ] = due;
      let changed = 0;
      if (newest?.state === 'next') {
        await conn.query('UPDATE oauth_signing_keys SET state = \'active\' WHERE kid = ?', [ newest.kid ]);
        changed++;
      }
      if (newest && older.length > 0) {
        const retiredAt = newest.activates_at;
        const removeAfter = new Date(retiredAt.getTime() + retentionSeconds * 1000);
        const result = await conn.query(
          `UPDATE oauth_signing_keys SET state = 'retired', retired_at = ?, remove_after = ?
            WHERE kid IN (?) AND state <> 'retired'`,
          [ retiredAt, removeAfter, older.map(key => key.kid) ],
        );
        changed += result.affectedRows as number;
      }
      return changed;
    }));
  }

  /** Deletes retired keys whose last token has expired; returns how many. */
  async removeRetiredKeys(now: Date): Promise<number> {
    const result = await this.db.query('DELETE FROM oauth_signing_keys WHERE state = \'retired\' AND remove_after <= ?', [ now ]);
    return result.affectedRows as number;
  }
}
