import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { RDSClient } from '@eggjs/rds';
import { databaseSettings } from '../../config/database';
import { MIGRATIONS_DIR, ensureDatabase, migrate, splitStatements } from '../../app/infra/migrator';

const silent = { info: () => undefined };

describe('migrations', () => {
  const settings = { ...databaseSettings('unittest'), database: `${databaseSettings('unittest').database}_migrations` };
  let admin: RDSClient;

  before(async () => {
    admin = new RDSClient({ ...databaseSettings('unittest'), database: undefined });
  });
  beforeEach(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${RDSClient.escapeId(settings.database as string)}`);
    await ensureDatabase(settings);
  });
  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${RDSClient.escapeId(settings.database as string)}`);
    await admin.end();
  });

  it('applies every migration exactly once when several processes start together', async () => {
    const files = readdirSync(MIGRATIONS_DIR).filter(name => name.endsWith('.sql')).sort();
    // Separate pools, as separate workers or hosts would have.
    const clients = [ new RDSClient(settings), new RDSClient(settings), new RDSClient(settings) ];
    try {
      const applied = await Promise.all(clients.map(db => migrate(db, silent)));
      assert.deepEqual(applied.flat().sort(), files, 'each file applied by exactly one process');
      const rows = await clients[0].query('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((row: { version: string }) => row.version), files);
      assert.deepEqual(await migrate(clients[0], silent), [], 'nothing left to apply');
    } finally {
      await Promise.all(clients.map(db => db.end()));
    }
  });

  it('splits a file into statements and drops comment lines', () => {
    assert.deepEqual(splitStatements('-- a comment; with a semicolon\nCREATE TABLE a (x int);\n\nCREATE TABLE b (\n  y int\n);\n'), [
      'CREATE TABLE a (x int)',
      'CREATE TABLE b (\n  y int\n)',
    ]);
  });
});
