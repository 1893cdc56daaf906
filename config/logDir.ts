import path from 'node:path';

/**
 * The folder of every log of the app (and of the admin CLI's audit lines): LOG_DIR, else
 * logs/<app name> under the project. egg's own default would be the home directory in production.
 */
export function logDirectory(baseDir: string, appName: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.LOG_DIR || path.join(baseDir, 'logs', appName);
}
