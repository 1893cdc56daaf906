import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RDSClient } from '@eggjs/rds';
import { LockRepository } from '../repository/LockRepository';

/** The folder of versioned, forward-only SQL migrations: NNN_name.sql, applied in name order. */
export const MIGRATIONS_DIR = path.join(__dirname, '../../migrations');

/** Long enough for another process to finish a slow migration before this one gives up. */
const LOCK_WAIT_MS = 600 * 1000;

/** The lock that serialises migrations, a row of `named_locks` (see LockRepository). */
export const MIGRATION_LOCK = 'migrations';

export interface MigrationLogger {
  info(message: string, ...args: unknown[]): void;
}

/**
 * Splits a migration file into statements: each ends with `;` at the end of a line, or with the
 * delimiter a `DELIMITER //` line sets, as in the mysql client (a stored procedure's body holds `;`).
 * Lines that start with `--` are comments.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let delimiter = ';';
  let current: string[] = [];
  const end = () => {
    const statement = current.join('\n').trim();
    if (statement.length > 0) statements.push(statement);
    current = [];
  };
  for (const line of sql.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('--')) continue;
    const directive = /^DELIMITER\s+(\S+)$/i.exec(trimmed);
    if (directive) {
      end();
      delimiter = directive[1];
    } else if (trimmed.endsWith(delimiter)) {
      current.push(line.slice(0, line.lastIndexOf(delimiter)));
      end();
    } else {
      current.push(line);
    }
  }
  end();
  return statements;
}

async function listMigrationFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter(name => /^\d+_[\w-]+\.sql$/.test(name)).sort();
}

/**
 * Creates the table of cluster-wide locks, which must exist before the migration lock can be taken:
 * idempotent, so that any number of processes may run it at once (on Galera, DDL is applied in one
 * total order on every node: the later ones find the table there).
 */
async function createLockTable(db: RDSClient): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS named_locks (
    name varchar(64) NOT NULL COMMENT 'what the lock guards: migrations, cleanup',
    owner char(36) NOT NULL COMMENT 'a random id of the holder, new at each acquisition',
    expires_at datetime(3) NOT NULL COMMENT 'end of the lease (UTC): past it another process may take the lock',
    PRIMARY KEY (name)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='locks across processes, hosts and cluster nodes (GET_LOCK is per node on Galera)'`);
}

/**
 * Applies every pending migration. A lock row (LockRepository: GET_LOCK would be per node on a Galera
 * cluster) serialises concurrent callers, so any number of workers or hosts starting together, on any
 * nodes, apply each migration exactly once; a holder that crashed half-way is replaced once its lease
 * has run out. Returns the versions this call applied.
 */
export async function migrate(db: RDSClient, logger: MigrationLogger, dir = MIGRATIONS_DIR): Promise<string[]> {
  await createLockTable(db);
  const done = await new LockRepository(db).withLock(MIGRATION_LOCK, async () => {
    await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version varchar(100) NOT NULL COMMENT 'migration file name',
      applied_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'when it was applied',
      PRIMARY KEY (version)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='applied schema migrations'`);
    const rows: Array<{ version: string }> = await db.query('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map(row => row.version));
    const files: string[] = [];
    for (const file of await listMigrationFiles(dir)) {
      if (applied.has(file)) continue;
      const sql = await readFile(path.join(dir, file), 'utf8');
      // One connection for the whole file: a migration may set session variables for its later statements.
      const conn = await db.getConnection();
      try {
        for (const statement of splitStatements(sql)) {
          await conn.query(statement);
        }
        await conn.query('INSERT INTO schema_migrations (version) VALUES (?)', [ file ]);
      } finally {
        conn.release();
      }
      logger.info('[migrate] applied %s', file);
      files.push(file);
    }
    return files;
  }, { waitMs: LOCK_WAIT_MS });
  if (!done) throw new Error(`could not take the migration lock within ${LOCK_WAIT_MS / 1000}s`);
  return done;
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
