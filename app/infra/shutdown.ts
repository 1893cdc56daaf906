import type { Server } from 'node:http';

/**
 * Stops accepting connections and waits for the requests in flight to be answered, at most
 * `timeoutMs`; then closes whatever is left. Idle keep-alive connections are closed at once
 * (Node ≥ 19 does that in server.close()).
 */
export async function drainServer(server: Server, timeoutMs: number): Promise<void> {
  if (!server.listening) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<void>(resolve => server.close(() => resolve()));
  const timedOut = new Promise<void>(resolve => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, timeoutMs);
  });
  await Promise.race([ closed, timedOut ]);
  clearTimeout(timer);
}
