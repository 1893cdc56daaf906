import { RDSClient } from '@eggjs/rds';
import { databaseSettings, serverEnvironment } from '../../config/database';
import { ensureDatabase, migrate } from '../infra/migrator';
import { prepareSessions } from '../infra/dbSession';

/**
 * Opens the database the app of this environment uses (EGG_SERVER_ENV / NODE_ENV and MYSQL_*),
 * creating it and applying pending migrations first.
 */
export async function openDatabase(log: (message: string) => void = () => undefined): Promise<RDSClient> {
  const settings = databaseSettings(serverEnvironment());
  await ensureDatabase(settings);
  const db = new RDSClient(settings);
  prepareSessions(db, settings);
  try {
    await migrate(db, { info: (format, ...args) => log(format.replace('%s', String(args[0]))) });
  } catch (err) {
    await db.end();
    throw err;
  }
  return db;
}

/** Connection failures name the server, never a password. */
export function describeFailure(err: unknown): string {
  const { host, port, database, user } = databaseSettings(serverEnvironment());
  const message = (err as Error).message;
  const code = (err as { code?: string }).code;
  return code
    ? `database ${user}@${host}:${port}/${database}: ${message}`
    : message;
}
