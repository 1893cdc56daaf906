import type { EggAppConfig, PowerPartial } from 'egg';

export default () => {
  const config: PowerPartial<EggAppConfig> = {
    // Tests play clients from many IPs through X-Forwarded-For.
    proxy: true,
    // Tests provoke errors on purpose; they are in logs/, the test report stays readable.
    logger: { consoleLevel: 'NONE' },
    // Tests read GET /metrics; the agent sums the workers' figures every 200 ms.
    metrics: { secret: 'unittest-metrics-token', pushMs: 200 },
    oauth: {
      // Tests create many users: cheap hashes there, the real parameters everywhere else.
      argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
      // Tests send thousands of failing requests; the floor itself is tested with its own value.
      minFailureMs: 40,
      // Tests write national numbers of this region.
      phoneRegion: 'CN',
      sms: { minResponseMs: 40 },
    },
  };
  return config;
};
