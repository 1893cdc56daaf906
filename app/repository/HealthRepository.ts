import type { RDSClient } from '@eggjs/rds';

export class HealthRepository {
  constructor(private readonly db: RDSClient) {}

  /** One round trip to MySQL: throws when it cannot be reached. */
  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }
}
