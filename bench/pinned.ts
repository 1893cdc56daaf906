/**
 * Keep-alive connections to an egg app, each pinned to one socket and so to one worker, grouped by the
 * worker that holds it (read with `ss -p`): what the Bearer cache priming and the revocation trials
 * need, since egg's cluster hands each new connection to a worker of its choosing.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { must, send } from './http';

export interface Pinned {
  agents: http.Agent[];
  /** Worker PID → the connections it holds; null when `ss` could not tell (then every agent is one group). */
  byWorker: Map<number, http.Agent[]> | null;
  close(): void;
}

/** Client port → PID of the process holding the server side of an established connection on `port`. */
function holders(port: string): Map<number, number> | null {
  try {
    const out = execFileSync('ss', [ '-tnpH', 'state', 'established', `( sport = :${port} )` ], { encoding: 'utf8' });
    const map = new Map<number, number>();
    for (const line of out.split('\n')) {
      const m = /:\d+\s+\S+:(\d+)\s+users:\(\("[^"]*",pid=(\d+)/.exec(line);
      if (m) map.set(Number(m[1]), Number(m[2]));
    }
    return map;
  } catch {
    return null;
  }
}

/** Opens `count` connections with one GET `path` each (which must answer 200) and finds their workers. */
export async function pinnedConnections(base: string, count: number, workerPids: number[], path: string, headers: Record<string, string>): Promise<Pinned> {
  const agents = Array.from({ length: count }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const close = () => agents.forEach(agent => agent.destroy());
  try {
    for (const answer of await Promise.all(agents.map(agent => send(base, 'GET', path, { agent, headers })))) {
      must(answer.status === 200, `GET ${path} -> 200 on each pinned connection`, answer);
    }
    // The socket goes back to its agent's free list just after the answer's end.
    await tick();
    const byPort = holders(new URL(base).port);
    if (!byPort) return { agents, byWorker: null, close };
    const byWorker = new Map<number, http.Agent[]>(workerPids.map(pid => [ pid, []]));
    for (const agent of agents) {
      const socket = Object.values(agent.freeSockets).flat()[0] as Socket | undefined;
      const pid = socket?.localPort === undefined ? undefined : byPort.get(socket.localPort);
      if (pid !== undefined) byWorker.get(pid)?.push(agent);
    }
    const covered = [ ...byWorker.values() ].filter(group => group.length > 0).length;
    must(covered === workerPids.length, `the ${count} pinned connections reach every worker (${covered} of ${workerPids.length})`);
    return { agents, byWorker, close };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * Sends every token once to every worker (over that worker's pinned connections), so that a Bearer
 * scenario measures the per-worker token cache in its steady state rather than its first pass.
 */
export async function primeEveryWorker(base: string, path: string, tokens: string[], pinned: Pinned): Promise<void> {
  const groups = pinned.byWorker ? [ ...pinned.byWorker.values() ] : [ pinned.agents ];
  await Promise.all(groups.map(async group => {
    let next = 0;
    await Promise.all(group.map(async agent => {
      while (next < tokens.length) {
        const answer = await send(base, 'GET', path, { agent, headers: { authorization: `Bearer ${tokens[next++]}` } });
        must(answer.status === 200, `GET ${path} with a seeded token -> 200 while priming the cache`, answer);
      }
    }));
  }));
}
