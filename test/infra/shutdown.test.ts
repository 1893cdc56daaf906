import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { mock } from 'egg-mock/bootstrap';

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('graceful shutdown (npm stop)', () => {
  it('answers the requests in flight before the worker closes, and accepts no new ones', async function() {
    this.timeout(30000);
    const worker = mock.app({ cache: false });
    await worker.ready();
    worker.router.get('/test/slow', async ctx => {
      await sleep(800);
      ctx.body = { ok: true };
    });
    const server = http.createServer(worker.callback());
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // As egg-cluster's app worker does.
    worker.emit('server', server);

    const events: string[] = [];
    const inFlight = get(port, '/test/slow').then(status => {
      events.push('answered');
      return status;
    });
    await sleep(100);
    const closing = worker.close().then(() => events.push('closed'));
    await sleep(100);
    await assert.rejects(get(port, '/test/slow'), /ECONNREFUSED/, 'no new connection once closing');
    assert.equal(await inFlight, 200);
    await closing;
    assert.deepEqual(events, [ 'answered', 'closed' ], 'the app (and its database pool) closes only after the answer');
  });
});
