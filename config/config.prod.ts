import type { EggAppConfig, EggAppInfo, PowerPartial } from 'egg';
import path from 'node:path';

export default (appInfo: EggAppInfo) => {
  if (!process.env.APP_KEYS) {
    throw new Error('APP_KEYS must be set in production (comma-separated random strings that sign cookies)');
  }
  const config: PowerPartial<EggAppConfig> = {
    keys: process.env.APP_KEYS,
    logger: {
      // egg-scripts would otherwise write under the running user's home directory.
      dir: process.env.LOG_DIR || path.join(appInfo.baseDir, 'logs'),
    },
  };
  return config;
};
