import type { RDSClientOptions } from '@eggjs/rds';

/**
 * Connection settings for MySQL, shared by the app (egg-mysql) and the command-line tools.
 * The unittest environment has a database of its own: tests truncate every table.
 */
export function databaseSettings(serverEnv: string, env: NodeJS.ProcessEnv = process.env): RDSClientOptions {
  const database = serverEnv === 'unittest'
    ? env.MYSQL_TEST_DATABASE || 'oauth2_unittest'
    : env.MYSQL_DATABASE || 'oauth2';
  return {
    host: env.MYSQL_HOST || '127.0.0.1',
    port: Number(env.MYSQL_PORT || 3306),
    user: env.MYSQL_USER || 'root',
    password: env.MYSQL_PASSWORD || '',
    database,
    charset: 'utf8mb4',
    // Every DATETIME column holds UTC.
    timezone: 'Z',
    connectionLimit: Number(env.MYSQL_POOL_SIZE || 10),
    // A database outage must fail fast (503), never hang a request.
    connectTimeout: 1000,
    poolWaitTimeout: 1000,
  };
}

/** The server environment egg would pick for this process (EGG_SERVER_ENV, else from NODE_ENV). */
export function serverEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EGG_SERVER_ENV) return env.EGG_SERVER_ENV;
  if (env.NODE_ENV === 'production') return 'prod';
  if (env.NODE_ENV === 'test') return 'unittest';
  return 'local';
}
