import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import bcrypt from 'bcrypt';
import { PasswordHasher } from '../../app/core/password';
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
