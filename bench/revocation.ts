/**
 * How long after a revocation every worker refuses the token. Each trial: a token is used on every
 * connection (so that each worker has it in its cache), revoked once on one connection (one worker),
 * then every connection asks with it again and again until its last `streak` answers are all 401. A
 * connection is pinned to one socket, and so to one worker; the trials start only once `ss` has shown
 * that the connections reach every worker (where `ss` is installed).
 */
import type http from 'node:http';
import { type Answer, must, nowMs, send } from './http';
import { pinnedConnections } from './pinned';

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
  /** How many workers the connections were seen to reach (null: `ss` could not tell). */
  workersCovered: number | null;
  settings: RevocationSettings;
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

export async function revocationBound(base: string, path: string, tokens: string[], workerPids: number[],
  revoke: (token: string) => Promise<Answer>, settings: RevocationSettings): Promise<RevocationResult> {
  must(tokens.length >= settings.trials, `${settings.trials} tokens for the revocation trials`);
  const pinned = await pinnedConnections(base, settings.connections, workerPids, path, { authorization: `Bearer ${tokens[0]}` });
  const { agents } = pinned;
  const ask = (agent: http.Agent, token: string) => send(base, 'GET', path, { agent, headers: { authorization: `Bearer ${token}` } });
  const trialsMs: number[] = [];
  let timedOut = 0;
  try {
    for (const token of tokens.slice(0, settings.trials)) {
      for (const answer of await Promise.all(agents.map(agent => ask(agent, token)))) {
        must(answer.status === 200, `GET ${path} with a live token -> 200 on every connection before its revocation`, answer);
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
    pinned.close();
  }
  const sorted = [ ...trialsMs ].sort((x, y) => x - y);
  return {
    trialsMs: trialsMs.map(ms => Math.round(ms * 10) / 10),
    maxMs: Math.round(sorted[sorted.length - 1] * 10) / 10,
    p95Ms: Math.round(percentile(sorted, 0.95) * 10) / 10,
    medianMs: Math.round(percentile(sorted, 0.5) * 10) / 10,
    timedOut,
    workersCovered: pinned.byWorker?.size ?? null,
    settings,
  };
}
