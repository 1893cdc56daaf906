import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import type { MockApplication } from 'egg-mock';
import { USER, bearer, createClient, createUser, login, tokenRequest } from '../../helpers';
import { startWorkers, workerOf } from '../../workers';

const TOKEN = 'unittest-metrics-token';

/** The value of one series in Prometheus text, 0 when absent. */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find(l => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function scrape(target: MockApplication): Promise<string> {
  const res = await target.httpRequest().get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
  assert.equal(res.status, 200, res.text);
  return res.text;
}

/** Scrapes until `ready` holds: the agent sums the workers' figures every metrics.pushMs (200 ms here). */
async function scrapeUntil(target: MockApplication, ready: (text: string) => boolean): Promise<string> {
  const until = Date.now() + 5000;
  let text = await scrape(target);
  while (!ready(text) && Date.now() < until) {
    await sleep(100);
    text = await scrape(target);
  }
  return text;
}

const HEALTH = 'http_request_duration_seconds_count{route="/health",method="GET",status="200"}';

describe('[GET /metrics] Prometheus', () => {
  afterEach(mock.restore);

  it('should 404 while METRICS_TOKEN is unset', async () => {
    mock(app.config.metrics, 'secret', '');
    assert.equal((await app.httpRequest().get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).status, 404);
  });

  it('should 401 with a Bearer challenge without the token, or with another', async () => {
    for (const auth of [ undefined, 'Bearer wrong', `Basic ${TOKEN}` ]) {
      const req = app.httpRequest().get('/metrics');
      const res = auth ? await req.set('Authorization', auth) : await req;
      assert.equal(res.status, 401, auth);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"');
      assert.ok(!res.text.includes('http_request'), 'no figures');
    }
  });

  it('should count requests per route and status, tokens per grant, login failures per reason, cache lookups, the pool and the event loop', async () => {
    await createUser(app);
    await createClient(app);
    const before = await scrape(app);
    await app.httpRequest().get('/health').expect(200);
    const { access_token: token } = await login(app);
    await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'wrong password' });
    await bearer(app, '/api/currentUser', token).expect(200);
    await bearer(app, '/api/currentUser', token).expect(200);
    const grew = (text: string, series: string) => valueOf(text, series) - valueOf(before, series);
    const after = await scrapeUntil(app, text => grew(text, 'oauth_token_cache_lookups_total{result="hit"}') >= 1);
    assert.equal(grew(after, HEALTH), 1);
    assert.equal(grew(after, 'http_request_duration_seconds_count{route="/oauth/token",method="POST",status="400"}'), 1);
    assert.equal(grew(after, 'oauth_tokens_issued_total{grant_type="password"}'), 1);
    assert.equal(grew(after, 'oauth_events_total{event="login_failure",reason="wrong_password"}'), 1);
    assert.equal(grew(after, 'oauth_events_total{event="login_success",reason=""}'), 1);
    assert.ok(grew(after, 'oauth_token_cache_lookups_total{result="hit"}') >= 1);
    assert.ok(grew(after, 'oauth_token_cache_lookups_total{result="miss"}') >= 1);
    assert.match(after, /^mysql_pool_connections\{state="idle"\} \d+$/m);
    assert.match(after, /^mysql_pool_connections\{state="waiting"\} 0$/m);
    assert.match(after, /^oauth_password_hashes_waiting 0$/m);
    assert.match(after, /^nodejs_eventloop_lag_seconds /m);
    assert.ok(valueOf(after, 'oauth_revocation_feed_age_seconds') < 2, 'the feed reads every 100 ms');
    assert.ok(!after.includes(token), 'no token in the figures');
  });

  describe('with 2 workers', function() {
    this.timeout(120000);
    let cluster: MockApplication;
    before(async () => {
      cluster = await startWorkers();
    });
    after(() => cluster.close());

    it('should answer the sum of every worker\'s figures, whichever worker serves it', async () => {
      const workers = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const res = await cluster.httpRequest().get('/health');
        workers.add(workerOf(res));
      }
      assert.ok(workers.size === 2, 'both workers served');
      // One worker alone counted about half of them.
      const after = await scrapeUntil(cluster, text => valueOf(text, HEALTH) >= 20);
      assert.equal(valueOf(after, HEALTH), 20);
    });
  });
});
