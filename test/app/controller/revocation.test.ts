import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import { CLIENT, basic, clientPost, createClient, createUser, login, refresh, tokenStatus } from '../../helpers';

const status = (token: string) => tokenStatus(app, token);

describe('[POST /oauth/revoke] RFC 7009', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });

  it('revokes access token [no hint]: the whole login ends (logout)', async () => {
    const tokens = await login(app);
    const res = await clientPost(app, '/oauth/revoke', { token: tokens.access_token });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
  });

  it('revokes refresh token [token_type_hint=refresh_token]: the access token stops too', async () => {
    const tokens = await login(app);
    const res = await clientPost(app, '/oauth/revoke', { token: tokens.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(res.status, 200);
    assert.equal(await status(tokens.access_token), 401);
    assert.equal((await refresh(app, tokens.refresh_token)).body.error, 'invalid_grant');
  });

  it('revokes refresh token [no hint] and with a wrong hint', async () => {
    const a = await login(app);
    await clientPost(app, '/oauth/revoke', { token: a.refresh_token });
    assert.equal(await status(a.access_token), 401);
    const b = await login(app);
    await clientPost(app, '/oauth/revoke', { token: b.access_token, token_type_hint: 'refresh_token' });
    assert.equal(await status(b.access_token), 401);
  });

  it('revokes every token of the login, also the ones issued by refreshes', async () => {
    const first = await login(app);
    const second = (await refresh(app, first.refresh_token)).body;
    await clientPost(app, '/oauth/revoke', { token: second.access_token });
    assert.equal((await refresh(app, second.refresh_token)).body.error, 'invalid_grant');
  });

  it('leaves the other devices of the user logged in', async () => {
    const phone = await login(app);
    const laptop = await login(app);
    await clientPost(app, '/oauth/revoke', { token: phone.access_token });
    assert.equal(await status(laptop.access_token), 200);
  });

  // §2.2: "invalid tokens do not cause an error response".
  it('should 200 for an unknown token', async () => {
    const res = await clientPost(app, '/oauth/revoke', { token: 'f'.repeat(64) });
    assert.equal(res.status, 200);
  });

  it('should refuse to revoke another client\'s token, and the token keeps working', async () => {
    await createClient(app, { clientId: 'other' });
    const tokens = await login(app);
    const res = await clientPost(app, '/oauth/revoke', { token: tokens.access_token }, basic('other', CLIENT.secret));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'unauthorized_client');
    assert.equal(await status(tokens.access_token), 200);
  });

  it('should 401 invalid_client with WWW-Authenticate for bad client credentials', async () => {
    const tokens = await login(app);
    for (const auth of [ basic(CLIENT.clientId, 'wrong'), basic('nobody', 'x'), 'Basic %%%' ]) {
      const res = await clientPost(app, '/oauth/revoke', { token: tokens.access_token }, auth);
      assert.equal(res.status, 401, auth);
      assert.equal(res.body.error, 'invalid_client');
      assert.match(res.headers['www-authenticate'], /^Basic realm="/);
    }
    const none = await clientPost(app, '/oauth/revoke', { token: tokens.access_token }, '');
    assert.equal(none.status, 401);
    assert.equal(await status(tokens.access_token), 200);
  });

  it('should accept client credentials in the body (client_secret_post)', async () => {
    const tokens = await login(app);
    const res = await clientPost(app, '/oauth/revoke', { token: tokens.access_token, client_id: CLIENT.clientId, client_secret: CLIENT.secret }, '');
    assert.equal(res.status, 200);
    assert.equal(await status(tokens.access_token), 401);
  });

  it('should 400 invalid_request without token, or with a repeated one', async () => {
    assert.equal((await clientPost(app, '/oauth/revoke', {})).body.error, 'invalid_request');
    const repeated = await app.httpRequest().post('/oauth/revoke')
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('token=a&token=b');
    assert.equal(repeated.status, 400);
    assert.equal(repeated.body.error, 'invalid_request');
  });
});
