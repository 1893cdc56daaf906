import mock, { type MockApplication } from 'egg-mock';
import { freePort } from './helpers';

/**
 * The app as production runs it: an agent and `count` worker processes behind one port, for what only
 * shows across workers (the revocation feed, the metrics the agent sums). Close it in `after`.
 */
export async function startWorkers(count = 2): Promise<MockApplication> {
  const cluster = mock.cluster({ workers: count, port: await freePort(), cache: false, clean: false, coverage: false } as never);
  await cluster.ready();
  return cluster;
}

/** Which worker answered: request ids start with a prefix of the process that made them. */
export function workerOf(res: { headers: Record<string, unknown> }): string {
  return String(res.headers['x-request-id']).slice(0, 8);
}
