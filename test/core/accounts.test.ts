import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import { createContainer } from '../../app/infra/container';
import { CLIENT, USER, basic, createClient, createUser, login, refresh, tokenStatus } from '../helpers';

const status = (token: string) => tokenStatus(app, token);

describe('account changes take effect at once', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });

  it('disabling a user kills its tokens and refreshes, and enabling it again does not revive them', async () => {
    const tokens = await login(app);
    await app.container.accounts.setEnabled(USER.username, false);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
    await app.container.accounts.setEnabled(USER.username, true);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
    assert.equal(await status((await login(app)).access_token), 200, 'a new login works');
  });

  it('changing the password revokes every login of the user', async () => {
    const phone = await login(app);
    const laptop = await login(app);
    await app.container.accounts.setPassword(USER.username, 'a brand new password');
    for (const tokens of [ phone, laptop ]) {
      assert.equal(await status(tokens.access_token), 401);
      assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
    }
  });

  it('disabling a client kills its tokens, also after it is enabled again', async () => {
    const tokens = await login(app);
    await app.container.accounts.setClientEnabled(CLIENT.clientId, false);
    assert.equal(await status(tokens.access_token), 401);
    await app.container.accounts.setClientEnabled(CLIENT.clientId, true);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
  });

  it('deleting a client deletes its grants and tokens', async () => {
    await login(app);
    await app.container.accounts.deleteClient(CLIENT.clientId);
    const [ counts ] = await app.mysql.query('SELECT (SELECT COUNT(*) FROM oauth_tokens) AS tokens, (SELECT COUNT(*) FROM oauth_grants) AS grants');
    assert.deepEqual(counts, { tokens: 0, grants: 0 });
  });

  it('a user\'s sessions are listed per login and can all be logged out', async () => {
    await createClient(app, { clientId: 'mobile' });
    await login(app);
    await login(app, basic('mobile', CLIENT.secret));
    const sessions = await app.container.accounts.listSessions(USER.username);
    assert.deepEqual(sessions.map(s => s.clientId).sort(), [ 'mobile', CLIENT.clientId ]);
    assert.equal(await app.container.accounts.logoutEverywhere(USER.username), 2);
    assert.deepEqual(await app.container.accounts.listSessions(USER.username), []);
  });
});

describe('client registration (core/accounts): redirect URIs in production', () => {
  it('should refuse plain http but on a loopback host in production, and take it elsewhere', async () => {
    const production = createContainer(app.mysql, { argon2: app.config.oauth.argon2, jwt: app.config.oauth.jwt, production: true }).accounts;
    const client = (clientId: string, uri: string) => ({ clientId, grants: [ 'authorization_code' ], redirectUris: [ uri ], public: true });
    await assert.rejects(production.createClient(client('plain', 'http://app.example/cb')), /plain http only for a loopback host/);
    await production.createClient(client('native', 'http://127.0.0.1/cb'));
    await app.container.accounts.createClient(client('dev', 'http://app.example/cb'));
  });
});
