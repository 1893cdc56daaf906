import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import bcrypt from 'bcrypt';
import { PasswordHasher, Slots } from '../../app/core/password';
import { hashToken } from '../../app/core/token';
import { CLIENT, USER, basic, createClient, createUser, login, tokenRequest } from '../helpers';

async function dumpDatabase(): Promise<string> {
  const tables = [ 'users', 'oauth_clients', 'oauth_tokens' ];
  const rows = await Promise.all(tables.map(table => app.mysql.query(`SELECT * FROM ${table}`)));
  return JSON.stringify(rows);
}

describe('storage of secrets', () => {
  it('keeps no plaintext password, client secret or token in the database', async () => {
    await createClient(app);
    await createUser(app);
    const first = await login(app);
    const second = await login(app);
    const dump = await dumpDatabase();
    for (const secret of [ USER.password, CLIENT.secret, first.access_token, first.refresh_token, second.access_token, second.refresh_token ]) {
      assert.ok(!dump.includes(secret), `the database holds a plaintext secret: ${secret.slice(0, 6)}…`);
    }
    // Only the SHA-256 of each token is stored.
    assert.ok(dump.includes(hashToken(first.access_token)));
    assert.ok(dump.includes(hashToken(first.refresh_token)));
  });

  it('stores argon2id hashes for passwords and client secrets', async () => {
    await createClient(app);
    await createUser(app);
    const [ user ] = await app.mysql.query('SELECT password_hash FROM users');
    const [ client ] = await app.mysql.query('SELECT secret_hash FROM oauth_clients');
    assert.match(user.password_hash, /^\$argon2id\$/);
    assert.match(client.secret_hash, /^\$argon2id\$/);
  });

  it('uses the OWASP argon2id parameters (m=19 MiB, t=2, p=1) by default', async () => {
    const hash = await new PasswordHasher().hash('some password');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  });

  for (const prefix of [ '$2a$', '$2b$', '$2y$' ]) {
    it(`verifies an imported bcrypt ${prefix} hash and upgrades it to argon2id on login`, async () => {
      await createClient(app);
      // As a Spring Security server stores them (BCryptPasswordEncoder writes $2a$).
      const hash = prefix + bcrypt.hashSync(USER.password, 4).slice(4);
      await app.container.accounts.importUser({ username: USER.username, passwordHash: hash });
      await login(app);
      const [ row ] = await app.mysql.query('SELECT password_hash FROM users');
      assert.match(row.password_hash, /^\$argon2id\$/);
      // The upgraded hash still logs in; the old password stays the password.
      await login(app);
    });
  }

  it('refuses a wrong password against an imported bcrypt hash and keeps the hash', async () => {
    await createClient(app);
    const hash = bcrypt.hashSync(USER.password, 4);
    await app.container.accounts.importUser({ username: USER.username, passwordHash: hash });
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'wrong password' });
    assert.equal(res.body.error, 'invalid_grant');
    const [ row ] = await app.mysql.query('SELECT password_hash FROM users');
    assert.equal(row.password_hash, hash);
  });

  it('verifies and upgrades an imported bcrypt client secret', async () => {
    await createClient(app);
    await createUser(app);
    await app.mysql.query('UPDATE oauth_clients SET secret_hash = ?', [ bcrypt.hashSync(CLIENT.secret, 4) ]);
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password }, basic(CLIENT.clientId, CLIENT.secret));
    assert.equal(res.status, 200);
    const [ row ] = await app.mysql.query('SELECT secret_hash FROM oauth_clients');
    assert.match(row.secret_hash, /^\$argon2id\$/);
  });
});

describe('[core/password] hashing slots: at most oauth.hashConcurrency hashes at once per worker', () => {
  /** A task that runs until its `finish` is called; `started` says whether its slot came. */
  function task(log: string[], name: string) {
    let finish!: (fail?: boolean) => void;
    const state = { started: false };
    const run = () => new Promise<string>((resolve, reject) => {
      state.started = true;
      log.push(`start ${name}`);
      finish = fail => (fail ? reject(new Error(`${name} failed`)) : resolve(name));
    });
    return { state, run, finish: (fail?: boolean) => finish(fail) };
  }
  const tick = () => new Promise(resolve => setImmediate(resolve));

  it('should run at most the limit at once and start the others in the order they came', async () => {
    const slots = new Slots(2);
    const log: string[] = [];
    const [ a, b, c, d ] = [ 'a', 'b', 'c', 'd' ].map(name => task(log, name));
    const done = [ a, b, c, d ].map(t => slots.run(t.run));
    await tick();
    assert.deepEqual(log, [ 'start a', 'start b' ]);
    assert.equal(slots.waiting, 2);
    b.finish();
    await tick();
    assert.deepEqual(log, [ 'start a', 'start b', 'start c' ]);
    a.finish();
    await tick();
    assert.deepEqual(log, [ 'start a', 'start b', 'start c', 'start d' ]);
    assert.equal(slots.waiting, 0);
    c.finish();
    d.finish();
    assert.deepEqual(await Promise.all(done), [ 'a', 'b', 'c', 'd' ]);
  });

  it('should hand the slot on when a task fails, and hand the failure to its caller', async () => {
    const slots = new Slots(1);
    const log: string[] = [];
    const [ a, b ] = [ 'a', 'b' ].map(name => task(log, name));
    const first = slots.run(a.run);
    const second = slots.run(b.run);
    await tick();
    a.finish(true);
    await assert.rejects(first, /a failed/);
    await tick();
    assert.equal(b.state.started, true);
    b.finish();
    assert.equal(await second, 'b');
  });

  it('should queue the hasher\'s verifications, unknown users\' included, beyond its concurrency', async () => {
    // The OWASP parameters: a verification takes tens of milliseconds, the queue is seen long before.
    const hasher = new PasswordHasher(undefined, 1);
    const hash = await hasher.hash('right');
    await hasher.warmUp();
    const finished: string[] = [];
    const checks = [
      hasher.verify(hash, 'right').then(r => finished.push(`right ${r.ok}`)),
      hasher.verify(hash, 'wrong').then(r => finished.push(`wrong ${r.ok}`)),
      hasher.verifyDummy('anything').then(() => finished.push('dummy')),
    ];
    await tick();
    assert.equal(hasher.waiting, 2);
    await Promise.all(checks);
    assert.deepEqual(finished, [ 'right true', 'wrong false', 'dummy' ]);
    assert.equal(hasher.waiting, 0);
  });
});
