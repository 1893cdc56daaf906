import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RDSClient } from '@eggjs/rds';

/** The folder of versioned, forward-only SQL migrations: NNN_name.sql, applied in name order. */
export const MIGRATIONS_DIR = path.join(__dirname, '../../migrations');

/** Long enough for another process to finish a slow migration before this one gives up. */
const LOCK_WAIT_SECONDS = 600;

export interface MigrationLogger {
  info(message: string, ...args: unknown[]): void;
}

/** Splits a migration file into statements: each ends with `;` at the end of a line. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split('\n')
    .filter(line => !line.trim().startsWith('--'))
    .join('\n');
  return withoutComments
    .split(/;\s*$/m)
    .map(statement => statement.trim())
    .filter(statement => statement.length > 0);
}

async function listMigrationFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter(name => /^\d+_[\w-]+\.sql$/.test(name)).sort();
}

/**
 * Applies every pending migration. A MySQL named lock (GET_LOCK) serialises concurrent callers, so
 * many workers or hosts starting together apply each migration exactly once.
 * Returns the versions this call applied.
 */
export async function migrate(db: RDSClient, logger: MigrationLogger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const conn = await db.getConnection();
  try {
    // Named locks are server-wide: one lock per database, so two apps on one server do not wait on each other.
    const [{ lockName }] = await conn.query('SELECT CONCAT(\'oauth2_migrations:\', DATABASE()) AS lockName');
    const [ lock ] = await conn.query('SELECT GET_LOCK(?, ?) AS acquired', [ lockName, LOCK_WAIT_SECONDS ]);
    if (lock.acquired !== 1) {
      throw new Error(`could not take the migration lock "${lockName}" within ${LOCK_WAIT_SECONDS}s`);
    }
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version varchar(100) NOT NULL COMMENT 'migration file name',
        applied_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'when it was applied',
        PRIMARY KEY (version)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='applied schema migrations'`);
      const rows: Array<{ version: string }> = await conn.query('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map(row => row.version));
      const done: string[] = [];
      for (const file of await listMigrationFiles(dir)) {
        if (applied.has(file)) continue;
        const sql = await readFile(path.join(dir, file), 'utf8');
        for (const statement of splitStatements(sql)) {
          await conn.query(statement);
        }
        await conn.query('INSERT INTO schema_migrations (version) VALUES (?)', [ file ]);
        logger.info('[migrate] applied %s', file);
        done.push(file);
      }
      return done;
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [ lockName ]);
    }
  } finally {
    conn.release();
  }
}

/** Creates the configured database when it does not exist yet (local development, tests, first deploy). */
export async function ensureDatabase(options: ConstructorParameters<typeof RDSClient>[0]): Promise<void> {
  const { RDSClient: Client } = await import('@eggjs/rds');
  const { database, ...server } = options;
  if (!database) throw new Error('no database name configured (MYSQL_DATABASE)');
  const admin = new Client({ ...server, connectionLimit: 1 });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS ${Client.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
}
