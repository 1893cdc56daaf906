import { strict as assert } from 'node:assert';
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startResourceServer } from '../resourceServer';
import { CLIENT, admin, basic, bearer, clientPost, closeServer, createClient, createUser, login, serveOnLoopback } from '../helpers';

const API = 'https://api.example';
const JWT_CLIENT = basic('jwt_app', CLIENT.secret);

/** This server, on a real port: the resource server fetches its JWKS over HTTP. */
let authServer: http.Server | undefined;
let resourceServer: http.Server | undefined;
let issuer: string;
let rsOrigin: string;

async function callResourceServer(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(rsOrigin, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: res.ok ? JSON.parse(text) : { text } };
}

describe('JWT access tokens at a koa-jwt + jwks-rsa resource server', () => {
  before(async () => {
    ({ server: authServer, origin: issuer } = await serveOnLoopback(app.callback()));
    const started = await startResourceServer({ issuer, audience: API });
    resourceServer = started.server;
    rsOrigin = started.origin;
  });
  after(async () => {
    await closeServer(resourceServer);
    await closeServer(authServer);
  });
  beforeEach(async () => {
    mock(app.config.oauth, 'issuer', issuer);
    await createUser(app);
    await createClient(app, {
      clientId: 'jwt_app', grants: [ 'password', 'refresh_token', 'client_credentials' ], accessTokenFormat: 'jwt', audience: API,
      resources: [ 'https://other-api.example' ],
    });
  });
  afterEach(mock.restore);

  it('should accept a JWT client\'s token, without calling back', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT);
    const res = await callResourceServer(token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.client_id, 'jwt_app');
    assert.equal(res.body.sub, String(decodeJwt(token).sub));
  });

  it('should refuse an opaque token', async () => {
    await createClient(app);
    const { access_token: token } = await login(app);
    assert.equal((await callResourceServer(token)).status, 401);
  });

  it('should refuse a token for another audience', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT, { resource: 'https://other-api.example' });
    assert.equal(decodeJwt(token).aud, 'https://other-api.example');
    assert.equal((await callResourceServer(token)).status, 401);
  });

  it('should accept the old key\'s and the new key\'s tokens after keys:rotate', async () => {
    const { access_token: oldToken } = await login(app, JWT_CLIENT);
    assert.equal((await callResourceServer(oldToken)).status, 200);
    const rotated = await admin('keys:rotate', '--publish-delay', '0');
    assert.equal(rotated.code, 0, rotated.stderr);
    // What every worker does every 30 s (config.oauth.jwt.keyRefreshSeconds).
    await app.container.signingKeys.refresh(900);
    const { access_token: newToken } = await login(app, JWT_CLIENT);
    assert.notEqual(decodeProtectedHeader(newToken).kid, decodeProtectedHeader(oldToken).kid, 'signed with the new key');
    assert.equal((await callResourceServer(newToken)).status, 200);
    assert.equal((await callResourceServer(oldToken)).status, 200, 'the retired key is still published');
    const listed = await admin('keys:list');
    assert.match(listed.stdout, new RegExp(`^${decodeProtectedHeader(newToken).kid}\tES256\tactive\t`, 'm'));
    assert.match(listed.stdout, new RegExp(`^${decodeProtectedHeader(oldToken).kid}\tES256\tretired\t`, 'm'));
  });

  it('should refuse an expired JWT', async () => {
    // `exp` is whole seconds (iat is rounded down): a 1 s lifetime can leave a token only a few ms to live,
    // so the first call, which must be accepted, gets at least 2 s.
    await createClient(app, { clientId: 'brief', grants: [ 'client_credentials' ], accessTokenFormat: 'jwt', audience: API, accessTokenLifetime: 3 });
    const res = await clientPost(app, '/oauth/token', { grant_type: 'client_credentials' }, basic('brief', CLIENT.secret));
    const token = res.body.access_token;
    assert.equal((await callResourceServer(token)).status, 200);
    await sleep(((decodeJwt(token).exp as number) + 1) * 1000 - Date.now());
    assert.equal((await callResourceServer(token)).status, 401);
  });

  // The caveat the README states: only this server can be told of a revocation before `exp`.
  it('should refuse a revoked JWT at once here, while a third-party verifier accepts it until exp', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT);
    await clientPost(app, '/oauth/revoke', { token }, JWT_CLIENT);
    assert.equal((await bearer(app, '/api/currentUser', token)).status, 401);
    assert.equal((await callResourceServer(token)).status, 200);
  });
});
