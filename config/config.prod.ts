import type { EggAppConfig, PowerPartial } from 'egg';

export default () => {
  if (!process.env.APP_KEYS) {
    throw new Error('APP_KEYS must be set in production (comma-separated random strings that sign cookies)');
  }
  const config: PowerPartial<EggAppConfig> = {
    keys: process.env.APP_KEYS,
  };
  return config;
};
