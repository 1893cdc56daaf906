import type { RDSClient } from '@eggjs/rds';
import { retryTransaction } from './retry';
import { splitList } from './columns';

/** What a user has approved for a client, remembered so that the consent page is asked once. */
export class ConsentRepository {
  constructor(private readonly db: RDSClient) {}

  async findConsentedScope(userId: number, clientPk: number): Promise<string[] | null> {
    const row: { scope: string } | null = await this.db.queryOne(
      'SELECT scope FROM oauth_consents WHERE user_id = ? AND client_id = ?', [ userId, clientPk ]);
    return row ? splitList(row.scope) : null;
  }

  /** Records an approval; the scopes approved before stay approved. */
  async saveConsent(userId: number, clientPk: number, scope: string[]): Promise<void> {
    await retryTransaction(async () => {
      const known = await this.findConsentedScope(userId, clientPk) ?? [];
      const all = [ ...new Set([ ...known, ...scope ]) ].sort().join(' ');
      await this.db.query(
        'INSERT INTO oauth_consents (user_id, client_id, scope) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE scope = VALUES(scope)',
        [ userId, clientPk, all ]);
    });
  }
}
