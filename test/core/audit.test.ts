import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, USER, basic, clientPost, createClient, createUser, login, refresh, tokenRequest } from '../helpers';

interface AuditEntry {
  time: string;
  event: string;
  requestId?: string;
  ip?: string;
  userId?: number | null;
  clientId?: string;
  reason?: string;
  usernameHash?: string;
}

function auditFile(): string {
  return path.join(app.config.logger.dir, 'audit.log');
}

async function auditEntriesSince(offset: number): Promise<{ text: string; entries: AuditEntry[] }> {
  await sleep(1100); // egg's file loggers may buffer for up to a second
  const text = readFileSync(auditFile(), 'utf8').slice(offset);
  return { text, entries: text.trim().split('\n').filter(Boolean)
    .map(line => JSON.parse(line)) };
}

function currentSize(): number {
  try {
    return readFileSync(auditFile(), 'utf8').length;
  } catch {
    return 0;
  }
}

describe('audit log (logs/…/audit.log, one JSON object per line)', () => {
  afterEach(mock.restore);

  it('records logins, failures with their reason, throttling, refresh, reuse and revocation, and no secret', async function() {
    this.timeout(20000);
    await createClient(app);
    const userId = await createUser(app);
    const offset = currentSize();

    const tokens = await login(app);
    await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'wrong password' });
    await tokenRequest(app, { grant_type: 'password', username: 'ghost', password: USER.password });
    await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password }, basic(CLIENT.clientId, 'wrong secret'));
    const next = (await refresh(app, tokens.refresh_token)).body;
    await refresh(app, tokens.refresh_token);
    const other = await login(app);
    await clientPost(app, '/oauth/revoke', { token: other.access_token });
    mock(app.config.oauth.throttle, 'userIp', { threshold: 1, windowSeconds: 60, stepSeconds: 60, maxBlockSeconds: 60 });
    await tokenRequest(app, { grant_type: 'password', username: 'target', password: 'x' }).set('X-Forwarded-For', '10.3.3.3');
    await tokenRequest(app, { grant_type: 'password', username: 'target', password: 'x' }).set('X-Forwarded-For', '10.3.3.3');

    const { text, entries } = await auditEntriesSince(offset);
    const events = entries.map(e => e.event);
    for (const event of [ 'login_success', 'login_failure', 'client_auth_failure', 'token_refresh', 'refresh_reuse', 'revocation', 'throttled' ]) {
      assert.ok(events.includes(event), `${event} missing from ${events.join(', ')}`);
    }
    const failures = entries.filter(e => e.event === 'login_failure');
    assert.deepEqual(failures.slice(0, 2).map(e => [ e.reason, e.userId ]), [[ 'wrong_password', userId ], [ 'unknown_user', null ]]);
    assert.match(failures[1].usernameHash ?? '', /^[0-9a-f]{16}$/);
    const success = entries.find(e => e.event === 'login_success')!;
    assert.equal(success.userId, userId);
    assert.equal(success.clientId, CLIENT.clientId);
    assert.match(success.requestId ?? '', /^[0-9a-f]{16}$/);
    assert.equal(typeof success.ip, 'string');

    for (const secret of [ USER.password, CLIENT.secret, 'wrong secret', 'wrong password', 'ghost', tokens.access_token, tokens.refresh_token, next.access_token, next.refresh_token, other.access_token ]) {
      assert.ok(!text.includes(secret), `the audit log holds ${secret.slice(0, 8)}…`);
    }
  });

  it('keeps the caller\'s X-Request-Id and sends it back', async () => {
    const res = await app.httpRequest().get('/api/currentUser').set('X-Request-Id', 'trace-42');
    assert.equal(res.headers['x-request-id'], 'trace-42');
    const fresh = await app.httpRequest().get('/api/currentUser').set('X-Request-Id', 'bad id with spaces');
    assert.match(fresh.headers['x-request-id'], /^[0-9a-f]{16}$/);
  });
});

describe('no secret in any log', () => {
  it('leaves no password, secret or token in the app\'s log files after a session', async function() {
    this.timeout(20000);
    await createClient(app);
    await createUser(app);
    const tokens = await login(app);
    await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${tokens.access_token}`);
    await refresh(app, tokens.refresh_token);
    await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'wrong password' });
    await app.httpRequest().get('/oauth/check_token').query({ token: tokens.access_token })
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret));
    await sleep(1100);
    const dir = app.config.logger.dir;
    for (const file of [ 'common-error.log', `${app.name}-web.log`, 'egg-web.log', 'audit.log' ]) {
      let text = '';
      try {
        text = readFileSync(path.join(dir, file), 'utf8');
      } catch {
        continue;
      }
      for (const secret of [ USER.password, CLIENT.secret, 'wrong password', tokens.access_token, tokens.refresh_token ]) {
        assert.ok(!text.includes(secret), `${file} holds ${secret.slice(0, 8)}…`);
      }
    }
  });
});

describe('response hygiene', () => {
  it('sends egg-security headers, and no-store on token and introspection answers', async () => {
    await createClient(app);
    await createUser(app);
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password });
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers.pragma, 'no-cache');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal((await app.httpRequest().get('/')).headers['referrer-policy'], 'no-referrer', 'the code flow\'s ?code= never leaves in a Referer');
    const introspection = await clientPost(app, '/oauth/introspect', { token: res.body.access_token });
    assert.equal(introspection.headers['cache-control'], 'no-store');
    const failed = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'nope' });
    assert.equal(failed.headers['cache-control'], 'no-store', 'errors of the token endpoint too');
  });
});
