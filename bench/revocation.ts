/**
 * How long after a revocation every worker refuses the token. Each trial: a token is used on every
 * connection (so that each worker has it in its cache), revoked once on one connection (one worker),
 * then every connection asks with it again and again until its last `streak` answers are all 401. A
 * connection is pinned to one socket, and so to one worker; egg's cluster deals new connections to the
 * workers in turn, so a dozen connections cover every worker (checked with `ss`, where it is installed).
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { type Answer, must, nowMs, send } from './http';

export interface RevocationSettings {
  trials: number;
  connections: number;
  /** Consecutive 401s a connection must see before it counts the token as refused for good. */
  streak: number;
  /** A trial that has not seen the refusal everywhere by then stops and counts as this long. */
  timeoutMs: number;
}

export interface RevocationResult {
  /** Per trial: ms from the revocation's answer to the send time of the first request of the final run of 401s on the slowest connection. */
  trialsMs: number[];
  maxMs: number;
  p95Ms: number;
  medianMs: number;
  timedOut: number;
  /** How many of the server's workers held one of the connections (null: `ss` could not tell). */
  workersCovered: number | null;
  settings: RevocationSettings;
}

/** The server's workers that hold an established connection on its port, by `ss -p`. */
function workersHolding(port: string, workerPids: number[]): number | null {
  try {
    const out = execFileSync('ss', [ '-tnpH', 'state', 'established', `( sport = :${port} )` ], { encoding: 'utf8' });
    const holders = new Set([ ...out.matchAll(/pid=(\d+)/g) ].map(m => Number(m[1])));
    return workerPids.filter(pid => holders.has(pid)).length;
  } catch {
    return null;
  }
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

export async function revocationBound(base: string, path: string, tokens: string[], workerPids: number[],
  revoke: (token: string) => Promise<Answer>, settings: RevocationSettings): Promise<RevocationResult> {
  must(tokens.length >= settings.trials, `${settings.trials} tokens for the revocation trials`);
  const agents = Array.from({ length: settings.connections }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const ask = (agent: http.Agent, token: string) => send(base, 'GET', path, { agent, headers: { authorization: `Bearer ${token}` } });
  const trialsMs: number[] = [];
  let timedOut = 0;
  let workersCovered: number | null = null;
  try {
    for (const token of tokens.slice(0, settings.trials)) {
      for (const answer of await Promise.all(agents.map(agent => ask(agent, token)))) {
        must(answer.status === 200, `GET ${path} with a live token -> 200 on every connection before its revocation`, answer);
      }
      if (trialsMs.length === 0) {
        workersCovered = workersHolding(new URL(base).port, workerPids);
        must(workersCovered === null || workersCovered === workerPids.length,
          `the ${settings.connections} connections reach every worker (${workersCovered} of ${workerPids.length})`);
      }
      const revoked = await revoke(token);
      must(revoked.status === 200, 'POST /oauth/revoke -> 200', revoked);
      const since = revoked.receivedAtMs;
      const perConnection = await Promise.all(agents.map(async agent => {
        let streak = 0;
        let refusedFrom = 0;
        while (streak < settings.streak) {
          if (nowMs() - since > settings.timeoutMs) return Infinity;
          const sentAt = nowMs();
          const answer = await ask(agent, token);
          if (answer.status === 401) {
            if (streak++ === 0) refusedFrom = sentAt;
          } else {
            must(answer.status === 200, `GET ${path} with a revoked token -> 200 (not yet seen) or 401`, answer);
            streak = 0;
          }
        }
        return Math.max(0, refusedFrom - since);
      }));
      const slowest = Math.max(...perConnection);
      if (slowest === Infinity) timedOut++;
      trialsMs.push(Math.min(slowest, settings.timeoutMs));
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  const sorted = [ ...trialsMs ].sort((x, y) => x - y);
  return {
    trialsMs: trialsMs.map(ms => Math.round(ms * 10) / 10),
    maxMs: Math.round(sorted[sorted.length - 1] * 10) / 10,
    p95Ms: Math.round(percentile(sorted, 0.95) * 10) / 10,
    medianMs: Math.round(percentile(sorted, 0.5) * 10) / 10,
    timedOut,
    workersCovered,
    settings,
  };
}
