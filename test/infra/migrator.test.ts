import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RDSClient } from '@eggjs/rds';
import { databaseSettings } from '../../config/database';
import { MIGRATIONS_DIR, MIGRATION_LOCK, ensureDatabase, migrate, splitStatements } from '../../app/infra/migrator';

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

  /** A lock row as another host left it, on another node of a cluster (where GET_LOCK would not see it). */
  async function holdLock(db: RDSClient, leaseSeconds: number) {
    await db.query(`CREATE TABLE named_locks (name varchar(64) NOT NULL, owner char(36) NOT NULL, expires_at datetime(3) NOT NULL,
      PRIMARY KEY (name)) ENGINE=InnoDB`);
    await db.query('INSERT INTO named_locks (name, owner, expires_at) VALUES (?, \'another-host\', NOW(3) + INTERVAL ? SECOND)', [ MIGRATION_LOCK, leaseSeconds ]);
  }

  it('should wait while another host holds the migration lock, and migrate once it is released', async () => {
    const db = new RDSClient(settings);
    try {
      await holdLock(db, 60);
      const started = Date.now();
      const migrating = migrate(db, silent);
      await sleep(1000);
      assert.deepEqual(await db.query('SHOW TABLES LIKE \'schema_migrations\''), [], 'nothing applied while the lock is held');
      await db.query('DELETE FROM named_locks WHERE name = ?', [ MIGRATION_LOCK ]);
      const applied = await migrating;
      assert.ok(applied.length > 0 && Date.now() - started >= 1000);
      assert.deepEqual(await db.query('SELECT * FROM named_locks'), [], 'the lock is released');
    } finally {
      await db.end();
    }
  });

  it('should take over the migration lock of a holder that crashed, once its lease is over', async () => {
    const db = new RDSClient(settings);
    try {
      await holdLock(db, 2);
      const started = Date.now();
      const applied = await migrate(db, silent);
      assert.ok(applied.length > 0);
      const waited = Date.now() - started;
      assert.ok(waited >= 1500 && waited < 5000, `waited ${waited} ms for a 2 s lease`);
    } finally {
      await db.end();
    }
  });

  it('splits a file into statements and drops comment lines', () => {
    assert.deepEqual(splitStatements('-- a comment; with a semicolon\nCREATE TABLE a (x int);\n\nCREATE TABLE b (\n  y int\n);\n'), [
      'CREATE TABLE a (x int)',
      'CREATE TABLE b (\n  y int\n)',
    ]);
  });

  it('splits at the delimiter a DELIMITER line sets, so that a stored procedure keeps its body', () => {
    assert.deepEqual(splitStatements('DROP PROCEDURE IF EXISTS p;\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND //\nDELIMITER ;\nCREATE TABLE c (z int);\n'), [
      'DROP PROCEDURE IF EXISTS p',
      'CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND',
      'CREATE TABLE c (z int)',
    ]);
  });
});
