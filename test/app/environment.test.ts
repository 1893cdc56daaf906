import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import prodConfig from '../../config/config.prod';
import { loadDemoData } from '../../app/infra/demo';
import { DEMO_CODE_CLIENT, DEMO_USER, hasDemoData } from '../../config/demo';
import { CookieBrowser, pkce, redirectParams } from '../browser';
import { basic, createClient, createUser, login, tokenRequest, USER } from '../helpers';

describe('environment', () => {
  it('works in UTC on every database connection', async () => {
    const [ row ] = await app.mysql.query('SELECT @@session.time_zone AS tz');
    assert.equal(row.tz, '+00:00');
  });

  it('loads demo data in the local environment only', () => {
    assert.equal(hasDemoData('local'), true);
    for (const env of [ 'prod', 'unittest', 'default', 'test', 'staging' ]) assert.equal(hasDemoData(env), false, env);
  });

  it('loads a demo client that the original front end\'s header (my_app:my_secret) logs in with', async () => {
    await loadDemoData(app.container);
    const res = await app.httpRequest().post('/api/user/token')
      .set('Authorization', 'Basic bXlfYXBwOm15X3NlY3JldA==')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(`grant_type=password&username=${DEMO_USER.username}&password=${DEMO_USER.password}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await loadDemoData(app.container), [], 'loading twice creates nothing');
  });

  it('loads a public demo client whose redirect URI is the browser page on any loopback port, without consent', async () => {
    await loadDemoData(app.container);
    const browser = new CookieBrowser(app);
    await browser.signIn(DEMO_USER.username, DEMO_USER.password);
    for (const redirectUri of [ 'http://127.0.0.1:7001/', 'http://localhost:45678/', 'http://[::1]:7001/' ]) {
      const { verifier, challenge } = pkce();
      const res = await browser.get(`/oauth/authorize?${new URLSearchParams({
        response_type: 'code', client_id: DEMO_CODE_CLIENT.clientId, redirect_uri: redirectUri, state: 's', code_challenge: challenge, code_challenge_method: 'S256',
      })}`);
      assert.equal(res.status, 302, res.text);
      assert.ok(res.headers.location.startsWith(`${redirectUri}?`), res.headers.location);
      const code = redirectParams(res.headers.location).get('code') as string;
      const tokens = await tokenRequest(app, {
        grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: DEMO_CODE_CLIENT.clientId,
      }, '');
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    }
    // Elsewhere than the page itself: refused.
    const res = await browser.get(`/oauth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: DEMO_CODE_CLIENT.clientId, redirect_uri: 'http://127.0.0.1:7001/other', state: 's', code_challenge: pkce().challenge, code_challenge_method: 'S256',
    })}`);
    assert.equal(res.status, 400);
  });

  describe('SMS settings in production', () => {
    const NAMES = [ 'APP_KEYS', 'SMS_SENDER', 'SMS_CODE_KEY', 'SMS_WEBHOOK_SECRET' ];
    let saved: Record<string, string | undefined>;
    beforeEach(() => {
      saved = Object.fromEntries(NAMES.map(name => [ name, process.env[name] ]));
      for (const name of NAMES) delete process.env[name];
      process.env.APP_KEYS = 'production-keys';
    });
    afterEach(() => {
      for (const name of NAMES) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    it('refuses to start with the log sender, which would write every code into the log', () => {
      process.env.SMS_SENDER = 'log';
      process.env.SMS_CODE_KEY = 'a-code-key';
      assert.throws(() => prodConfig(), /SMS_SENDER=log is for development only/);
    });

    it('refuses to start with a sender but no SMS_CODE_KEY', () => {
      process.env.SMS_SENDER = 'file:/var/spool/sms.jsonl';
      assert.throws(() => prodConfig(), /SMS_CODE_KEY must be set/);
      process.env.SMS_CODE_KEY = 'a-code-key';
      assert.doesNotThrow(() => prodConfig());
    });

    it('refuses to start with a webhook sender without SMS_WEBHOOK_SECRET, or over plain http', () => {
      process.env.SMS_CODE_KEY = 'a-code-key';
      process.env.SMS_SENDER = 'webhook:https://sms.example/send';
      assert.throws(() => prodConfig(), /SMS_WEBHOOK_SECRET must be set/);
      process.env.SMS_WEBHOOK_SECRET = 'a-webhook-secret';
      assert.doesNotThrow(() => prodConfig());
      process.env.SMS_SENDER = 'webhook:http://sms.example/send';
      assert.throws(() => prodConfig(), /must be https/);
    });

    it('starts with SMS login off when no sender is set', () => {
      assert.doesNotThrow(() => prodConfig());
    });
  });

  it('refuses to start in production without APP_KEYS', () => {
    const saved = process.env.APP_KEYS;
    delete process.env.APP_KEYS;
    try {
      assert.throws(() => prodConfig(), /APP_KEYS must be set/);
    } finally {
      if (saved !== undefined) process.env.APP_KEYS = saved;
    }
  });
});

describe('errors raised before our handlers (body parser, CSRF)', () => {
  it('should answer invalid JSON with a JSON 400 and no stack trace, and not log it', async () => {
    app.mockLog('logger');
    const res = await app.httpRequest().post('/oauth/token')
      .set('Content-Type', 'application/json')
      .send('{"grant_type": "password", oops');
    assert.equal(res.status, 400);
    assert.match(res.headers['content-type'], /application\/json/);
    assert.equal(res.body.error, 'invalid_request');
    assert.ok(!/SyntaxError|at JSON|oops/.test(res.text), res.text);
    app.notExpectLog('SyntaxError', 'logger');
  });

  it('should answer a CSRF refusal on a browser page with an HTML 403 that tells what to do', async () => {
    const res = await app.httpRequest().post('/login')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('username=alice&password=x');
    assert.equal(res.status, 403);
    assert.match(res.headers['content-type'], /text\/html/);
    assert.match(res.text, /reload the page/);
  });
});

describe('refresh tokens go only to clients that may use them', () => {
  it('should issue no refresh token to a password-only client', async () => {
    await createClient(app, { clientId: 'no_refresh', grants: [ 'password' ] });
    await createUser(app);
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password }, basic('no_refresh', 'web-app-secret-123'));
    assert.equal(res.status, 200);
    assert.equal(res.body.refresh_token, undefined);
    const [ row ] = await app.mysql.query('SELECT refresh_token_hash FROM oauth_tokens');
    assert.equal(row.refresh_token_hash, null);
    // and one that may, gets one
    await createClient(app);
    assert.match((await login(app)).refresh_token, /^[0-9a-f]{64}$/);
  });
});

describe('[GET /health]', () => {
  it('should 200 with a JSON status', async () => {
    const res = await app.httpRequest().get('/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
  });
});
