import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { app, mock } from 'egg-mock/bootstrap';
import { type JWTPayload, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { CookieBrowser, pkce, redirectParams } from '../../browser';
import { CLIENT, USER, basic, bearer, clientPost, createClient, createUser, login, refresh, tokenRequest } from '../../helpers';

const ISSUER = 'https://auth.example.test';
const API = 'https://api.example';
const OTHER_API = 'https://other-api.example';
const JWT_CLIENT = basic('jwt_app', CLIENT.secret);

/** A client of JWT access tokens for every grant but the code flow. */
async function registerJwtClient(input: Record<string, unknown> = {}) {
  await createClient(app, {
    clientId: 'jwt_app', grants: [ 'password', 'refresh_token', 'client_credentials' ], scopes: [ 'read', 'write' ],
    accessTokenFormat: 'jwt', audience: API, resources: [ OTHER_API ], ...input,
  });
}

/** Verifies a JWT access token against this server's own JWKS, as a resource server would. */
async function verify(token: string, audience = API): Promise<JWTPayload> {
  const jwks = await app.httpRequest().get('/.well-known/jwks.json').expect(200);
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks.body), { issuer: ISSUER, audience, typ: 'at+jwt', algorithms: [ 'ES256' ] });
  return payload;
}

describe('[POST /oauth/token] JWT access tokens (RFC 9068)', () => {
  beforeEach(async () => {
    mock(app.config.oauth, 'issuer', ISSUER);
    await createUser(app);
    await registerJwtClient();
  });
  afterEach(mock.restore);

  it('should issue an ES256 JWT typed at+jwt whose kid the JWKS publishes', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT);
    assert.deepEqual(Object.keys(decodeProtectedHeader(token)).sort(), [ 'alg', 'kid', 'typ' ]);
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    const jwks = await app.httpRequest().get('/.well-known/jwks.json');
    assert.ok(jwks.body.keys.some((key: { kid: string }) => key.kid === header.kid));
    await verify(token);
  });

  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti required; auth_time where a login happened.
  it('should carry iss, sub, aud, exp, iat, jti, client_id, scope and auth_time for a password login', async () => {
    const before = Math.floor(Date.now() / 1000);
    const userId = (await app.container.users.findUserByUsername(USER.username))?.id;
    const res = await login(app, JWT_CLIENT, { scope: 'read' });
    const claims = await verify(res.access_token);
    assert.deepEqual(Object.keys(claims).sort(), [ 'aud', 'auth_time', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub' ]);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, String(userId));
    assert.equal(claims.aud, API);
    assert.equal(claims.client_id, 'jwt_app');
    assert.equal(claims.scope, 'read');
    assert.ok((claims.auth_time as number) >= before && (claims.auth_time as number) <= (claims.iat as number));
    assert.match(claims.jti as string, /^[\w-]{22}$/);
    const again = decodeJwt((await login(app, JWT_CLIENT)).access_token);
    assert.notEqual(again.jti, claims.jti, 'every token has its own jti');
  });

  it('should make expires_in and exp agree: 900 s by default, also in storage', async () => {
    const res = await login(app, JWT_CLIENT);
    const claims = decodeJwt(res.access_token);
    assert.equal(res.expires_in, 900);
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
    const [ row ] = await app.mysql.query('SELECT access_token_expires_at FROM oauth_tokens');
    assert.equal(row.access_token_expires_at.getTime(), (claims.exp as number) * 1000);
  });

  it('should take the client\'s own access-token lifetime', async () => {
    await registerJwtClient({ clientId: 'short_jwt', accessTokenLifetime: 120 });
    const res = await login(app, basic('short_jwt', CLIENT.secret));
    const claims = decodeJwt(res.access_token);
    assert.equal(res.expires_in, 120);
    assert.equal((claims.exp as number) - (claims.iat as number), 120);
  });

  it('should name the client as sub and carry no auth_time for client_credentials', async () => {
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, JWT_CLIENT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await verify(res.body.access_token);
    assert.equal(claims.sub, 'jwt_app');
    assert.equal(claims.auth_time, undefined);
    assert.equal(claims.scope, 'read write');
  });

  it('should store only the SHA-256 of the whole JWT', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT);
    const [ row ] = await app.mysql.query('SELECT * FROM oauth_tokens');
    assert.equal(row.access_token_hash, createHash('sha256').update(token).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(token.split('.')[2]), 'no part of the signature is stored');
  });

  it('should keep the login\'s auth_time and audience on a refresh', async () => {
    const first = await login(app, JWT_CLIENT, { resource: OTHER_API });
    const refreshed = await refresh(app, first.refresh_token, {}, JWT_CLIENT);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const before = decodeJwt(first.access_token);
    const after = await verify(refreshed.body.access_token, OTHER_API);
    assert.equal(after.auth_time, before.auth_time);
    assert.equal(after.aud, OTHER_API);
    assert.notEqual(after.jti, before.jti);
  });

  it('should refuse a revoked JWT at once on this server\'s own routes', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT);
    assert.equal((await bearer(app, '/api/currentUser', token)).status, 200);
    const revoked = await clientPost(app, '/oauth/revoke', { token }, JWT_CLIENT);
    assert.equal(revoked.status, 200);
    const me = await bearer(app, '/api/currentUser', token);
    assert.equal(me.status, 401);
    assert.match(me.headers['www-authenticate'], /error="invalid_token"/);
  });

  it('should answer introspection of a JWT with its aud', async () => {
    const { access_token: token } = await login(app, JWT_CLIENT);
    const res = await clientPost(app, '/oauth/introspect', { token }, JWT_CLIENT);
    assert.equal(res.body.active, true);
    assert.equal(res.body.aud, API);
    assert.equal(res.body.sub, String(decodeJwt(token).sub));
  });

  it('should keep issuing opaque tokens to the other clients', async () => {
    await createClient(app);
    const res = await login(app);
    assert.match(res.access_token, /^[0-9a-f]{64}$/);
    assert.equal(res.expires_in, 7200);
  });

  it('should issue a JWT from the code flow, with the code\'s resource as aud and the session\'s login time as auth_time', async () => {
    await app.container.accounts.createClient({
      clientId: 'jwt_spa', grants: [ 'authorization_code', 'refresh_token' ], redirectUris: [ 'https://spa.example/cb' ],
      public: true, skipConsent: true, accessTokenFormat: 'jwt', audience: API, resources: [ OTHER_API ],
    });
    const browser = new CookieBrowser(app);
    const signedInAt = Math.floor(Date.now() / 1000);
    await browser.signIn(USER.username, USER.password);
    const { verifier, challenge } = pkce();
    const params = { response_type: 'code', client_id: 'jwt_spa', redirect_uri: 'https://spa.example/cb', code_challenge: challenge, code_challenge_method: 'S256', resource: OTHER_API };
    const authorized = await browser.get(`/oauth/authorize?${new URLSearchParams(params)}`);
    const code = redirectParams(authorized.headers.location).get('code') as string;
    const res = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: 'https://spa.example/cb', client_id: 'jwt_spa', code_verifier: verifier }, '');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await verify(res.body.access_token, OTHER_API);
    assert.ok(Math.abs((claims.auth_time as number) - signedInAt) <= 1);
    assert.equal(claims.client_id, 'jwt_spa');
    // The client's own audience is a resource it may name in the authorization request too.
    const own = await browser.get(`/oauth/authorize?${new URLSearchParams({ ...params, resource: API })}`);
    assert.equal(own.status, 302);
    assert.ok(redirectParams(own.headers.location).get('code'), own.headers.location);
  });
});

describe('[POST /oauth/token] resource indicators (RFC 8707)', () => {
  beforeEach(async () => {
    await createUser(app);
    await registerJwtClient();
    await createClient(app, { resources: [ OTHER_API ] });
  });

  it('should make a registered resource the token\'s audience, opaque tokens too', async () => {
    const { access_token: token } = await login(app, undefined, { resource: OTHER_API });
    const res = await clientPost(app, '/oauth/introspect', { token });
    assert.equal(res.body.aud, OTHER_API);
    assert.equal(decodeJwt((await login(app, JWT_CLIENT, { resource: OTHER_API })).access_token).aud, OTHER_API);
  });

  it('should accept the client\'s own audience as a resource', async () => {
    assert.equal(decodeJwt((await login(app, JWT_CLIENT, { resource: API })).access_token).aud, API);
  });

  it('should give an opaque token of a client without audience no aud', async () => {
    const { access_token: token } = await login(app);
    const res = await clientPost(app, '/oauth/introspect', { token });
    assert.equal(res.body.active, true);
    assert.equal(res.body.aud, undefined);
  });

  for (const [ name, auth ] of [[ 'JWT', JWT_CLIENT ], [ 'opaque', undefined ]] as const) {
    it(`should 400 invalid_target for a resource the client is not registered for (${name})`, async () => {
      const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password, resource: 'https://evil.example' }, auth);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_target');
      assert.equal((await app.mysql.query('SELECT COUNT(*) AS n FROM oauth_tokens'))[0].n, 0, 'nothing issued');
    });
  }

  it('should 400 invalid_request for two resources in one request', async () => {
    const res = await app.httpRequest().post('/oauth/token').set('Authorization', JWT_CLIENT)
      .type('form')
      .send(`grant_type=client_credentials&resource=${encodeURIComponent(API)}&resource=${encodeURIComponent(OTHER_API)}`);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
  });

  it('should keep the login\'s resource on a refresh that names none, and refuse another', async () => {
    const first = await login(app, undefined, { resource: OTHER_API });
    const refreshed = await refresh(app, first.refresh_token);
    const res = await clientPost(app, '/oauth/introspect', { token: refreshed.body.access_token });
    assert.equal(res.body.aud, OTHER_API);
    const other = await login(app, JWT_CLIENT, { resource: OTHER_API });
    const refused = await refresh(app, other.refresh_token, { resource: API }, JWT_CLIENT);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_target');
    assert.equal((await refresh(app, other.refresh_token, {}, JWT_CLIENT)).status, 200, 'the refused refresh spent nothing');
  });
});
