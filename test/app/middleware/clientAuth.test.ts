import { strict as assert } from 'node:assert';
import { app } from 'egg-mock/bootstrap';
import { CLIENT, basic, clientPost, createClient, createUser, login } from '../../helpers';

/** Every endpoint that authenticates its client, with a body that is valid for it. */
const ENDPOINTS: Array<{ path: string; body: (token: string) => Record<string, string> }> = [
  { path: '/oauth/token', body: () => ({ grant_type: 'client_credentials' }) },
  { path: '/oauth/revoke', body: token => ({ token }) },
  { path: '/oauth/introspect', body: token => ({ token }) },
  { path: '/oauth/check_token', body: token => ({ token }) },
];

describe('client authentication (RFC 6749 §2.3), the same on every client-authenticating endpoint', () => {
  // An object, not a `let`: the tests below are made in a loop.
  const session = { token: '' };
  beforeEach(async () => {
    await createClient(app, { grants: [ 'password', 'refresh_token', 'client_credentials' ] });
    await createUser(app);
    session.token = (await login(app)).access_token;
  });

  for (const { path, body } of ENDPOINTS) {
    describe(`[POST ${path}]`, () => {
      it('should accept HTTP Basic and client_secret_post alike', async () => {
        assert.equal((await clientPost(app, path, body(session.token))).status, 200);
        const post = await clientPost(app, path, { ...body(session.token), client_id: CLIENT.clientId, client_secret: CLIENT.secret }, '');
        assert.equal(post.status, 200, JSON.stringify(post.body));
      });

      // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
      it('should 400 invalid_request when Basic and a client_secret in the body are both sent', async () => {
        const res = await clientPost(app, path, { ...body(session.token), client_id: CLIENT.clientId, client_secret: CLIENT.secret });
        assert.equal(res.status, 400);
        assert.equal(res.body.error, 'invalid_request');
      });

      it('should 400 invalid_request when Basic names one client and the body another', async () => {
        const res = await clientPost(app, path, { ...body(session.token), client_id: 'another_client' });
        assert.equal(res.status, 400);
        assert.equal(res.body.error, 'invalid_request');
      });

      it('should 401 invalid_client with a Basic challenge without credentials or with a wrong secret', async () => {
        for (const auth of [ '', basic(CLIENT.clientId, 'not the secret') ]) {
          const res = await clientPost(app, path, body(session.token), auth);
          assert.equal(res.status, 401, auth);
          assert.equal(res.body.error, 'invalid_client');
          assert.match(res.headers['www-authenticate'], /^Basic realm=/);
        }
      });

      // RFC 7009 §2.1, RFC 7662 §2.1: "application/x-www-form-urlencoded", as the token endpoint (§3.2).
      it('should 400 invalid_request for a JSON body', async () => {
        const res = await app.httpRequest().post(path)
          .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body(session.token)));
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.body.error, 'invalid_request');
      });
    });
  }
});
