import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import { generateGrantId, hashToken } from '../../app/core/token';
import { isDeadlock, retryTransaction } from '../../app/repository/retry';
import { createClient, createUser, login, tokenStatus } from '../helpers';
import { conflict, failNext } from '../conflicts';

describe('[repository/retry] retryTransaction', () => {
  it('should run a transaction again after a conflict (1213) until it commits', async () => {
    let attempts = 0;
    const result = await retryTransaction(async () => {
      if (++attempts < 4) throw conflict();
      return 'committed';
    });
    assert.equal(result, 'committed');
    assert.equal(attempts, 4);
  });

  it('should give up after a bounded number of attempts, in under a second, and hand over the conflict', async () => {
    let attempts = 0;
    const started = Date.now();
    await assert.rejects(retryTransaction(async () => {
      attempts++;
      throw conflict();
    }), isDeadlock);
    assert.equal(attempts, 8);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
  });

  it('should pause a random time between attempts (jitter), so that two retrying writers do not meet again', async () => {
    const pauses: number[] = [];
    for (let run = 0; run < 5; run++) {
      let last = 0;
      await retryTransaction(async () => {
        const now = performance.now();
        if (last === 0) {
          last = now;
          throw conflict();
        }
        pauses.push(now - last);
      }, { baseDelayMs: 50 });
    }
    assert.ok(pauses.every(ms => ms < 60), pauses.join(', '));
    assert.ok(new Set(pauses.map(ms => Math.round(ms / 5))).size > 1, `all alike: ${pauses.join(', ')}`);
  });

  it('should not retry other errors', async () => {
    let attempts = 0;
    await assert.rejects(retryTransaction(async () => {
      attempts++;
      throw Object.assign(new Error('no such table'), { code: 'ER_NO_SUCH_TABLE' });
    }), /no such table/);
    assert.equal(attempts, 1);
  });
});

describe('[repository] writes that conflict on a Galera cluster are retried', () => {
  afterEach(mock.restore);

  async function saveCode(): Promise<string> {
    await createClient(app, { clientId: 'code_client', grants: [ 'authorization_code' ], redirectUris: [ 'https://app.example/cb' ] });
    const user = await createUser(app);
    const client = await app.container.clients.findClientByClientId('code_client');
    const codeHash = hashToken('a code');
    await app.container.codes.saveAuthorizationCode({
      codeHash, expiresAt: new Date(Date.now() + 60000), grantId: generateGrantId(), clientId: client!.id, userId: user,
      redirectUri: 'https://app.example/cb', scope: [], resource: null, codeChallenge: null, authTime: new Date(),
    });
    return codeHash;
  }

  it('should spend an authorization code once its conflict is retried', async () => {
    const codeHash = await saveCode();
    const attempts = failNext(app, /UPDATE oauth_authorization_codes/, 2);
    assert.equal(await app.container.codes.consumeAuthorizationCode(codeHash, new Date()), true);
    assert.equal(attempts.seen, 3);
  });

  it('should answer "spent by another" for a code whose exchange conflicts after every retry (the other exchange won)', async () => {
    const codeHash = await saveCode();
    failNext(app, /UPDATE oauth_authorization_codes/, 100);
    assert.equal(await app.container.codes.consumeAuthorizationCode(codeHash, new Date()), false);
  });

  it('should revoke a grant once its conflict is retried (racing revocations on two nodes)', async () => {
    await createClient(app);
    await createUser(app);
    const { access_token } = await login(app);
    const [{ grant_id }] = await app.mysql.query('SELECT grant_id FROM oauth_tokens');
    const scope = app.mysql.beginTransactionScope.bind(app.mysql);
    let attempts = 0;
    mock(app.mysql, 'beginTransactionScope', async (...args: Parameters<typeof scope>) => {
      if (attempts++ < 2) throw conflict();
      return scope(...args);
    });
    assert.equal(await app.container.grants.revokeGrant(grant_id, 'logout', new Date()), true);
    assert.equal(attempts, 3);
    mock.restore();
    assert.equal(await tokenStatus(app, access_token), 401);
  });

  it('should count a login, settle it and remember its address once conflicts on the throttle\'s writes are retried (parallel logins from one address)', async () => {
    await createClient(app);
    await createUser(app);
    const written = failNext(app, /^CALL oauth_throttle_write/, 3);
    const released = failNext(app, /^CALL oauth_throttle_release/, 3);
    await login(app);
    // The client's first secret check is throttled too: its begin (refused three times, then
    // committed), then the password's begin; each settle fails nothing, so it is a release: the
    // client's (refused three times, then committed), then the password's.
    assert.equal(written.seen, 5);
    assert.equal(released.seen, 5);
    mock.restore();
    const [ known ] = await app.mysql.query('SELECT COUNT(*) AS n FROM auth_known_addresses');
    assert.equal(known.n, 1);
    const [ pending ] = await app.mysql.query('SELECT COALESCE(SUM(pending), 0) AS n FROM auth_throttle');
    assert.equal(Number(pending.n), 0, 'no attempt left counted as in flight');
  });
});
