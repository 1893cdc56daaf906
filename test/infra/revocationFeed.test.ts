import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import type { MockApplication } from 'egg-mock';
import { USER, basic, CLIENT, createClient, createUser } from '../helpers';
import { startWorkers, workerOf } from '../workers';
import qs from 'qs';
import { RevocationFeed } from '../../app/infra/revocationFeed';

describe('[infra/revocationFeed] a revocation reaches every worker within 250 ms', function() {
  this.timeout(120000);
  let cluster: MockApplication;
  before(async () => {
    cluster = await startWorkers();
  });
  after(() => cluster.close());

  /** The Bearer route on whichever worker the connection lands on, and which worker it was. */
  async function check(token: string): Promise<{ status: number; worker: string }> {
    const res = await cluster.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${token}`);
    return { status: res.status, worker: workerOf(res) };
  }

  it('should refuse a token revoked through one worker on both, 250 ms later', async () => {
    await createClient(app);
    await createUser(app);
    const login = await cluster.httpRequest().post('/oauth/token')
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(qs.stringify({ grant_type: 'password', username: USER.username, password: USER.password }));
    assert.equal(login.status, 200, login.text);
    const token: string = login.body.access_token;
    const before = await Promise.all(Array.from({ length: 20 }, () => check(token)));
    assert.ok(before.every(r => r.status === 200), JSON.stringify(before));
    assert.equal(new Set(before.map(r => r.worker)).size, 2, 'both workers answered, and cached the token');

    const revoked = await cluster.httpRequest().post('/oauth/revoke')
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(qs.stringify({ token }));
    assert.equal(revoked.status, 200);
    await sleep(250);
    const after = await Promise.all(Array.from({ length: 20 }, () => check(token)));
    assert.equal(new Set(after.map(r => r.worker)).size, 2, 'both workers answered');
    assert.deepEqual(after.map(r => r.status), Array(20).fill(401));
  });

  it('should refuse a client disabled elsewhere on both workers 250 ms later, and take it back once enabled', async () => {
    // A client that only introspects: it has no grant whose revocation would tell the workers.
    await createClient(app, { clientId: 'rs', grants: [ 'client_credentials' ], resourceServer: true });
    const introspect = async () => {
      const res = await cluster.httpRequest().post('/oauth/introspect')
        .set('Authorization', basic('rs', CLIENT.secret))
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(qs.stringify({ token: 'not-a-token' }));
      return { status: res.status, worker: workerOf(res) };
    };
    const statuses = async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, introspect));
      assert.equal(new Set(answers.map(r => r.worker)).size, 2, 'both workers answered');
      return answers.map(r => r.status);
    };
    assert.deepEqual(await statuses(), Array(20).fill(200), 'both workers authenticated, and cached, the client');
    // Another process (the command line, another host) disables it: only the feed can tell the workers.
    await app.container.accounts.setClientEnabled('rs', false);
    await sleep(250);
    assert.deepEqual(await statuses(), Array(20).fill(401));
    await app.container.accounts.setClientEnabled('rs', true);
    await sleep(250);
    assert.deepEqual(await statuses(), Array(20).fill(200));
  });
});

describe('[infra/revocationFeed] reading the feed', () => {
  it('should drop each revocation once, and the whole cache after a gap longer than its window', async () => {
    await createClient(app);
    await createUser(app);
    const dropped: string[] = [];
    let cleared = 0;
    const cache = { drop: (tag: string) => dropped.push(tag), clear: () => cleared++ };
    const feed = new RevocationFeed(app.container.revocations, [ cache ], { pollMs: 100, windowSeconds: 2 }, app.coreLogger);
    const login = await app.httpRequest().post('/oauth/token')
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(qs.stringify({ grant_type: 'password', username: USER.username, password: USER.password }));
    const [{ id: grantId }] = await app.mysql.query('SELECT id FROM oauth_grants');
    await app.httpRequest().post('/oauth/revoke')
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(qs.stringify({ token: login.body.access_token }));
    await feed.poll();
    await feed.poll();
    assert.deepEqual(dropped, [ `grant:${grantId}` ]);
    assert.equal(cleared, 0);
    // Reads stopped for longer than the window: what was revoked meanwhile cannot be known.
    mock(Date, 'now', () => new Date().getTime() + 5000);
    await feed.poll();
    mock.restore();
    assert.equal(cleared, 1);
  });
});
