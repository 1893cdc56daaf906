import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import type { Context } from 'egg';
import HealthController from '../../../app/controller/health';
import { RDSClient } from '@eggjs/rds';
import { app, mock } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../../config/database';
import { createContainer } from '../../../app/infra/container';
import { prepareSessions } from '../../../app/infra/dbSession';
import { FaultyProxy } from '../../faultyProxy';
import { bearer, createClient, createUser, login, tokenRequest, USER } from '../../helpers';

const PASSWORD_GRANT = { grant_type: 'password', username: USER.username, password: USER.password };

describe('database outage (a fault-injecting proxy between the app and MySQL)', function() {
  this.timeout(30000);
  const settings = databaseSettings('unittest');
  const proxy = new FaultyProxy(settings.host as string, settings.port as number);
  let db: RDSClient;
  let token: string;

  before(async () => {
    await proxy.start();
    db = new RDSClient({ ...settings, port: proxy.port });
    prepareSessions(db, settings);
  });
  after(async () => {
    await db.end();
    await proxy.stop();
  });
  beforeEach(async () => {
    await proxy.restore();
    await createClient(app);
    await createUser(app);
    token = (await login(app)).access_token;
    // The app's repositories, on a pool that goes through the proxy.
    mock(app, 'container', createContainer(db, { argon2: app.config.oauth.argon2, jwt: app.config.oauth.jwt }));
    assert.equal((await bearer(app, '/api/currentUser', token)).status, 200, 'through the proxy');
  });
  afterEach(mock.restore);

  async function timed<T>(send: () => Promise<T>): Promise<[T, number]> {
    const started = Date.now();
    const res = await send();
    return [ res, Date.now() - started ];
  }

  function assertUnavailable([ res, ms ]: [{ status: number; text: string; body: { error?: string } }, number]) {
    assert.equal(res.status, 503, res.text);
    assert.ok(ms < 2000, `answered after ${ms} ms`);
    assert.equal(res.body.error, 'temporarily_unavailable');
    assert.ok(!/ECONN|ETIMEDOUT|SELECT|INSERT|127\.0\.0\.1|at /.test(res.text), `internal detail leaked: ${res.text}`);
  }

  ([ 'refuse', 'blackhole' ] as const).forEach(mode => {
    describe(`when MySQL is gone (${mode})`, () => {
      it('should 503 JSON within 2 s on the token endpoint', async () => {
        await proxy.cut(mode);
        assertUnavailable(await timed(() => tokenRequest(app, PASSWORD_GRANT).set('X-Forwarded-For', '10.1.0.1')));
      });

      it('should 503 JSON within 2 s on a Bearer route', async () => {
        await proxy.cut(mode);
        assertUnavailable(await timed(() => bearer(app, '/api/currentUser', token)));
      });

      it('should say not ready at GET /health/ready (503), and alive at GET /health', async () => {
        assert.equal((await app.httpRequest().get('/health/ready')).status, 200);
        await proxy.cut(mode);
        assertUnavailable(await timed(() => app.httpRequest().get('/health/ready')));
        assert.equal((await app.httpRequest().get('/health')).status, 200);
      });

      it('should answer again once MySQL is back, without a restart', async () => {
        await proxy.cut(mode);
        assert.equal((await bearer(app, '/api/currentUser', token)).status, 503);
        await proxy.restore();
        assert.equal((await bearer(app, '/api/currentUser', token)).status, 200);
        assert.equal((await tokenRequest(app, PASSWORD_GRANT).set('X-Forwarded-For', '10.1.0.2')).status, 200);
      });
    });
  });

  it('should never return a token that was not committed', async () => {
    const saveToken = app.container.tokens.saveToken.bind(app.container.tokens);
    mock(app.container.tokens, 'saveToken', async (...args: Parameters<typeof saveToken>) => {
      // The database goes away between the credential check and the write of the token.
      await proxy.cut('refuse');
      return saveToken(...args);
    });
    const before = await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_tokens');
    const res = await tokenRequest(app, PASSWORD_GRANT).set('X-Forwarded-For', '10.1.0.3');
    assert.equal(res.status, 503);
    assert.equal(res.body.access_token, undefined);
    const afterCut = await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_tokens');
    assert.equal(afterCut[0].n, before[0].n);
  });

  it('should log the cause of a 503', async () => {
    await proxy.cut('refuse');
    app.mockLog('errorLogger');
    await bearer(app, '/api/currentUser', token);
    app.expectLog(/ECONNREFUSED/, 'errorLogger');
  });
});

describe('a Galera cluster node that cannot serve (joining, catching up, cut off from the majority)', () => {
  afterEach(mock.restore);

  async function answerWhenTheNodeSays(err: Error) {
    await createClient(app);
    await createUser(app);
    const { access_token } = await login(app);
    mock(app.container.tokens, 'findTokenByAccessTokenHash', async () => {
      throw err;
    });
    return bearer(app, '/api/currentUser', `${access_token.slice(0, -1)}0`);
  }

  it('should answer 503 with Retry-After when the node is not ready (1047)', async () => {
    const res = await answerWhenTheNodeSays(Object.assign(new Error('WSREP has not yet prepared node for application use'), { code: 'ER_UNKNOWN_COM_ERROR', errno: 1047 }));
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.error, 'temporarily_unavailable');
    assert.equal(res.headers['retry-after'], '2');
    assert.ok(!res.text.includes('WSREP'), res.text);
  });

  it('should answer 503 with Retry-After when a causal read times out on a node without quorum (1205)', async () => {
    const res = await answerWhenTheNodeSays(Object.assign(new Error('Lock wait timeout exceeded; try restarting transaction'), { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }));
    assert.equal(res.status, 503, res.text);
    assert.equal(res.headers['retry-after'], '2');
  });
});

describe('unexpected failure', () => {
  afterEach(mock.restore);

  it('should 500 server_error without the internal message', async () => {
    await createClient(app);
    await createUser(app, { roles: [ 'admin' ] });
    const { access_token } = await login(app);
    mock(app.container.users, 'listUsers', async () => {
      throw new TypeError('internal detail');
    });
    app.mockLog('errorLogger');
    const res = await bearer(app, '/api/getUser', access_token);
    assert.equal(res.status, 500);
    assert.equal(res.body.error, 'server_error');
    assert.ok(!res.text.includes('internal detail'));
    app.expectLog(/internal detail/, 'errorLogger');
  });
});

describe('errors that escape every middleware (egg-onerror hands them to the same renderer)', () => {
  afterEach(mock.restore);

  it('should answer a response stream that fails before its first byte with a JSON 500, no message', async () => {
    mock(HealthController.prototype, 'show', async function(this: { ctx: Context }) {
      this.ctx.body = new Readable({
        read() {
          this.destroy(new Error('internal stream detail'));
        },
      });
    });
    const res = await app.httpRequest().get('/health');
    assert.equal(res.status, 500);
    assert.match(res.headers['content-type'], /application\/json/);
    assert.deepEqual(res.body, { error: 'server_error', error_description: 'The server encountered an unexpected error' });
  });
});

describe('start-up with the database down', () => {
  it('fails at once with a message that names the database server', async function() {
    this.timeout(30000);
    const saved = process.env.MYSQL_PORT;
    process.env.MYSQL_PORT = '1';
    const down = mock.app({ cache: false, clean: false });
    try {
      await assert.rejects(down.ready(), (err: Error) => {
        assert.match(err.message, /ECONNREFUSED 127\.0\.0\.1:1\b/);
        return true;
      });
    } finally {
      process.env.MYSQL_PORT = saved;
      await down.close();
    }
  });
});
