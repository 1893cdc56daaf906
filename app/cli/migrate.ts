import { databaseSettings, serverEnvironment } from '../../config/database';
import { describeFailure, openDatabase } from './database';

/** npm run db:migrate — creates the database if needed and applies pending migrations. */
async function main() {
  const { database } = databaseSettings(serverEnvironment());
  const db = await openDatabase(message => console.log(message));
  await db.end();
  console.log(`database ${database} is up to date`);
}

main().catch(err => {
  console.error(`db:migrate failed: ${describeFailure(err)}`);
  process.exitCode = 1;
});
