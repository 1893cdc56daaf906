import type { EggAppConfig, PowerPartial } from 'egg';

export default () => {
  const config: PowerPartial<EggAppConfig> = {
    oauth: {
      // Tests create many users: cheap hashes there, the real parameters everywhere else.
      argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
    },
  };
  return config;
};
