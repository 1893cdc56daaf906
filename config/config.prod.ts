import type { EggAppConfig, PowerPartial } from 'egg';

export default () => {
  if (!process.env.APP_KEYS) {
    throw new Error('APP_KEYS must be set in production (comma-separated random strings that sign cookies)');
  }
  const config: PowerPartial<EggAppConfig> = {
    keys: process.env.APP_KEYS,
    // Behind TLS only (set TRUST_PROXY=1 behind a load balancer that terminates it).
    session: { secure: true },
  };
  return config;
};
