import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { RDSClient } from '@eggjs/rds';
import { app, mock } from 'egg-mock/bootstrap';
import { databaseSettings } from '../../config/database';
import { createContainer } from '../../app/infra/container';
import { prepareSessions } from '../../app/infra/dbSession';
import { CLIENT, USER, basic, bearer, clientPost, createClient, createUser, login, tokenRequest, tokenStatus } from '../helpers';
import { PasswordHasher } from '../../app/core/password';

const status = (token: string) => tokenStatus(app, token);

describe('the per-worker Bearer lookup cache (oauth.tokenCache) and the revocation feed', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });

  it('serves a looked-up token without asking MySQL again, for longer than the old 1 s', async () => {
    const { access_token } = await login(app);
    assert.equal(await status(access_token), 200);
    // Gone from MySQL behind the server's back (no revocation): this worker still knows it.
    await app.mysql.query('DELETE FROM oauth_tokens');
    await sleep(1100);
    assert.equal(await status(access_token), 200);
  });

  it('drops a token revoked in this worker at once', async () => {
    const tokens = await login(app);
    assert.equal(await status(tokens.access_token), 200);
    await clientPost(app, '/oauth/revoke', { token: tokens.refresh_token });
    assert.equal(await status(tokens.access_token), 401);
  });

  it('drops the tokens of a user disabled in this worker at once', async () => {
    const { access_token } = await login(app);
    assert.equal(await status(access_token), 200);
    await app.container.accounts.setEnabled(USER.username, false);
    assert.equal(await status(access_token), 401);
  });

  it('drops a refreshed (rotated) access token at once', async () => {
    const tokens = await login(app);
    assert.equal(await status(tokens.access_token), 200);
    await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(await status(tokens.access_token), 401);
  });

  it('sees a revocation made by another process (the CLI, another worker or host) within 250 ms', async () => {
    const { access_token } = await login(app);
    assert.equal(await status(access_token), 200);
    // Another process: its own pool and container, no access to this worker's cache.
    const settings = { ...databaseSettings('unittest'), connectionLimit: 1 };
    const other = new RDSClient(settings);
    prepareSessions(other, settings);
    try {
      await createContainer(other, { argon2: app.config.oauth.argon2, jwt: app.config.oauth.jwt }).accounts.logoutEverywhere(USER.username);
    } finally {
      await other.end();
    }
    await sleep(250);
    assert.equal(await status(access_token), 401);
  });

  it('does not cache a token whose lookup read the row before a revocation in this worker committed', async () => {
    const { access_token } = await login(app);
    const [{ id: grantId }] = await app.mysql.query('SELECT id FROM oauth_grants');
    const queryOne = app.mysql.queryOne.bind(app.mysql);
    // The Bearer lookup reads the live row; the logout commits (and drops the cache) before the lookup
    // is done with it.
    mock(app.mysql, 'queryOne', async (sql: string, values: unknown[]) => {
      const row = await queryOne(sql, values);
      if (sql.includes('t.access_token_hash')) await app.container.grants.revokeGrant(grantId, 'logout', new Date());
      return row;
    });
    assert.equal(await status(access_token), 200, 'the lookup in flight answers with what it read');
    mock.restore();
    assert.equal(await status(access_token), 401, 'and did not put the revoked token in the cache');
  });

  it('checks expiry on every request, cached or not', async () => {
    // 2 s: the first check, which must pass, comes after a login (argon2) that a loaded machine slows.
    await createClient(app, { clientId: 'brief', accessTokenLifetime: 2 });
    const { access_token } = await login(app, basic('brief', CLIENT.secret));
    assert.equal(await status(access_token), 200);
    await sleep(2100);
    const res = await bearer(app, '/api/currentUser', access_token);
    assert.equal(res.status, 401);
    assert.match(res.body.error_description, /expired/);
  });
});

describe('the verified client secret cache', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });

  it('still refuses a wrong secret after the right one was verified', async () => {
    await login(app);
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, basic(CLIENT.clientId, 'not the secret'));
    assert.equal(res.status, 401);
  });

  it('forgets the old secret once a hash changed by hand in SQL is read (secret rotated), within the client cache\'s TTL', async () => {
    // What the README says of a client row changed by hand: seen once its cached copy ends (OAUTH_CLIENT_CACHE_MS).
    mock(app.config.oauth.clientCache, 'ttlMs', 200);
    await login(app);
    const newHash = await new PasswordHasher(app.config.oauth.argon2).hash('the new secret');
    await app.mysql.query('UPDATE oauth_clients SET secret_hash = ?', [ newHash ]);
    await sleep(250);
    const old = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password });
    assert.equal(old.status, 401);
    await login(app, basic(CLIENT.clientId, 'the new secret'));
  });

  it('refuses a disabled client at once, even with its client and secret cached', async () => {
    await login(app);
    await app.container.accounts.setClientEnabled(CLIENT.clientId, false);
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password });
    assert.equal(res.status, 401);
  });

  it('runs argon2 once per client secret, not on every request', async () => {
    const hasher = (app.container.credentials as unknown as { hasher: PasswordHasher }).hasher;
    let verifications = 0;
    const verify = hasher.verify.bind(hasher);
    hasher.verify = async (hash: string, plain: string) => {
      verifications++;
      return verify(hash, plain);
    };
    try {
      await createClient(app, { clientId: 'svc', grants: [ 'client_credentials' ] });
      for (let i = 0; i < 5; i++) assert.equal((await tokenRequest(app, { grant_type: 'client_credentials' }, basic('svc', CLIENT.secret))).status, 200);
      assert.equal(verifications, 1);
    } finally {
      hasher.verify = verify;
    }
  });
});
