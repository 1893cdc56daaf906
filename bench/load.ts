/** autocannon against one server: the same settings for every server, so that their figures compare. */
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { type ServerName, type Target, cpuMark, log, rssMiB } from './servers';

export type Setup = (req: autocannon.Request) => autocannon.Request;

export interface Scenario {
  /** The letter its row and ratios are known by; the same for the same work on every server. */
  id: string;
  name: string;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  setupRequest?: Setup;
  connections?: number;
  /** Load it for the warm-up time first (JIT, pools, caches), unmeasured. */
  warmup?: boolean;
}

export interface LoadSettings {
  duration: number;
  connections: number;
  warmup: number;
}

export interface Row {
  id: string;
  scenario: string;
  server: ServerName;
  workers: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** The server's processes' RSS when the scenario started and when it ended. */
  rssStartMiB: number;
  rssMiB: number;
  /** The server's CPU time over the scenario, in % of one core, and per answered request. */
  cpuPct: number;
  cpuUsPerReq: number;
  /** Why this row's figures do not measure the work (most answers were not 2xx). */
  failure?: string;
  /** Which round of a side-by-side comparison (1 to --rounds); absent for work measured once. */
  round?: number;
}

export function drive(target: Target, sc: Scenario, settings: LoadSettings, seconds = settings.duration): Promise<autocannon.Result> {
  return autocannon({
    title: `${target.name} ${sc.id}`,
    url: target.base,
    connections: sc.connections ?? settings.connections,
    duration: seconds,
    requests: [{
      method: sc.method ?? 'GET',
      path: sc.path,
      headers: sc.headers,
      ...sc.setupRequest ? { setupRequest: sc.setupRequest } : {},
    }],
  });
}

/**
 * Waits until the server has finished the work of a load that has ended: autocannon stops at its
 * deadline, but what it left in flight is still worked on (50 logins queued for argon2id are most of a
 * second of both cores), and would be counted against whatever is measured next. Idle is under a tenth
 * of a core over 200 ms (its timers: the revocation feed, metrics); at most 10 s.
 */
export async function untilIdle(target: Target): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 200) {
    const cpu = cpuMark(target);
    await sleep(200);
    if (cpu() < 0.02) return;
  }
  log(`${target.name} was still busy 10 s after its load ended`);
}

/**
 * Measures one scenario on one server, from idle to idle. A row whose answers (and connection errors)
 * were not at least half 2xx carries a `failure`: its figures measure a failure (a wrong secret, an
 * exhausted seed, a server that sheds load), not the work, and the run ends with a non-zero exit once
 * every figure is printed.
 */
export async function measure(target: Target, sc: Scenario, workers: number, settings: LoadSettings): Promise<Row> {
  if (sc.warmup && settings.warmup > 0) {
    await drive(target, sc, settings, settings.warmup);
    await untilIdle(target);
  }
  const rssStartMiB = rssMiB(target);
  const cpu = cpuMark(target);
  const result = await drive(target, sc, settings);
  const cpuSeconds = cpu();
  await untilIdle(target);
  const ok = result['2xx'];
  const answered = ok + result.non2xx;
  let failure: string | undefined;
  if (answered + result.errors === 0) {
    // Slower than the duration (a password grant on a busy machine in a 1 s run): nothing to judge by.
    log(`${sc.name} on ${target.name}: no answer within ${settings.duration} s`);
  } else if (ok < (answered + result.errors) / 2) {
    failure = `${sc.name} on ${target.name} (${workers} workers): ${ok} of ${answered} answers were 2xx, ${result.errors} connection errors ` +
      `(status codes ${JSON.stringify(result.statusCodeStats)})`;
    log(`sanity check failed: ${failure}`);
  }
  return {
    id: sc.id,
    scenario: sc.name,
    server: target.name,
    workers,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    rssStartMiB,
    rssMiB: rssMiB(target),
    cpuPct: Math.round(100 * cpuSeconds / result.duration),
    cpuUsPerReq: Math.round(cpuSeconds * 1e6 / Math.max(answered, 1)),
    ...failure ? { failure } : {},
  };
}
