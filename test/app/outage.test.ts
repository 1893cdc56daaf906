import { strict as assert } from 'node:assert';
import net from 'node:net';
import { RDSClient } from '@eggjs/rds';
import { app, mock } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../config/database';
import { createServices } from '../../app/lib/services';
import { bearer, createClient, createUser, login, tokenRequest, USER } from '../helpers';

/** A port on which nothing listens: connections are refused at once. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

describe('database outage', () => {
  let dead: RDSClient;
  let token: string;

  before(async () => {
    dead = new RDSClient({ ...databaseSettings('unittest'), port: await closedPort() });
  });
  after(() => dead.end());
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
    token = (await login(app)).access_token;
    // The real driver, pointed at a MySQL that is gone.
    mock(app, 'services', createServices(dead, app.config.oauth.argon2));
  });
  afterEach(mock.restore);

  function assertUnavailable(res: { status: number; text: string; body: { error?: string } }, started: number) {
    assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.error, 'temporarily_unavailable');
    assert.ok(!/ECONNREFUSED|SELECT|127\.0\.0\.1|at /.test(res.text), `internal detail leaked: ${res.text}`);
  }

  it('should 503 JSON quickly on the token endpoint', async () => {
    const started = Date.now();
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password });
    assertUnavailable(res, started);
  });

  it('should 503 JSON quickly on a Bearer route', async () => {
    const started = Date.now();
    assertUnavailable(await bearer(app, '/api/currentUser', token), started);
  });

  it('should log the cause of a 503', async () => {
    app.mockLog('errorLogger');
    await bearer(app, '/api/currentUser', token);
    app.expectLog(/ECONNREFUSED/, 'errorLogger');
  });

  it('should answer again once the database is back, without a restart', async () => {
    assert.equal((await bearer(app, '/api/currentUser', token)).status, 503);
    mock.restore();
    assert.equal((await bearer(app, '/api/currentUser', token)).status, 200);
  });
});

describe('unexpected failure', () => {
  afterEach(mock.restore);

  it('should 500 server_error without the internal message', async () => {
    await createClient(app);
    await createUser(app);
    const { access_token } = await login(app);
    mock(app.services.users, 'findUserById', async () => {
      throw new TypeError('internal detail');
    });
    app.mockLog('errorLogger');
    const res = await bearer(app, '/api/currentUser', access_token);
    assert.equal(res.status, 500);
    assert.equal(res.body.error, 'server_error');
    assert.ok(!res.text.includes('internal detail'));
    app.expectLog(/internal detail/, 'errorLogger');
  });
});
