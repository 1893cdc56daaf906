import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import { CookieBrowser, csrfOf, pkce, redirectParams } from '../../browser';
import { CLIENT, USER, basic, bearer, clientPost, createUser, tokenRequest, tokenStatus } from '../../helpers';

const SPA = { clientId: 'spa', redirectUri: 'https://spa.example/callback' };
const WEB = { clientId: 'web', redirectUri: 'https://web.example/cb' };

function authorizePath(params: Record<string, string>): string {
  return `/oauth/authorize?${new URLSearchParams(params)}`;
}

/** A public first-party client (no secret, no consent page) and a confidential third-party one. */
async function registerClients() {
  await app.container.accounts.createClient({
    clientId: SPA.clientId, grants: [ 'authorization_code', 'refresh_token' ], redirectUris: [ SPA.redirectUri, 'http://127.0.0.1/cb' ],
    public: true, skipConsent: true, scopes: [ 'read', 'write' ], resources: [ 'https://api.example/' ],
  });
  await app.container.accounts.createClient({
    clientId: WEB.clientId, secret: CLIENT.secret, grants: [ 'authorization_code', 'refresh_token' ], redirectUris: [ WEB.redirectUri, 'https://web.example/other?tenant=7' ],
    scopes: [ 'read', 'write' ],
  });
}

function spaRequest(challenge: string, extra: Record<string, string> = {}) {
  return { response_type: 'code', client_id: SPA.clientId, redirect_uri: SPA.redirectUri, state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256', ...extra };
}

function exchange(code: string, verifier: string, extra: Record<string, string> = {}, auth = '') {
  return tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: SPA.redirectUri, client_id: SPA.clientId, code_verifier: verifier, ...extra }, auth);
}

/** Signs in and follows the authorization request to the code (a client that skips consent). */
async function codeFor(browser: CookieBrowser, params: Record<string, string>): Promise<string> {
  const res = await browser.get(authorizePath(params));
  assert.equal(res.status, 302, res.text);
  const code = redirectParams(res.headers.location).get('code');
  assert.ok(code, res.headers.location);
  return code;
}

describe('[GET /oauth/authorize] authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636)', () => {
  // One browser, its cookies cleared before each test (a const: the tests below are made in loops).
  const browser = new CookieBrowser(app);
  beforeEach(async () => {
    browser.cookies.clear();
    await createUser(app);
    await registerClients();
  });
  afterEach(mock.restore);

  it('should send a browser without a session to the login page, then back, then to the client with code, state and iss', async () => {
    mock(app.config.oauth, 'issuer', 'https://auth.example.test');
    const { verifier, challenge } = pkce();
    const path = authorizePath(spaRequest(challenge));
    const first = await browser.get(path);
    assert.equal(first.status, 302);
    const login = new URL(first.headers.location, 'http://local.invalid');
    assert.equal(login.pathname, '/login');
    const returnTo = login.searchParams.get('return_to') as string;
    const signedIn = await browser.signIn(USER.username, USER.password, returnTo);
    assert.equal(signedIn.status, 302);
    assert.equal(signedIn.headers.location, returnTo);
    const back = await browser.get(returnTo);
    assert.equal(back.status, 302);
    const location = new URL(back.headers.location);
    assert.equal(`${location.origin}${location.pathname}`, SPA.redirectUri);
    assert.equal(location.searchParams.get('state'), 'st-1');
    assert.equal(location.searchParams.get('iss'), 'https://auth.example.test');
    const code = location.searchParams.get('code') as string;
    assert.match(code, /^[0-9a-f]{64}$/);

    const tokens = await exchange(code, verifier);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.token_type, 'Bearer');
    assert.ok(tokens.body.refresh_token);
    assert.equal(tokens.headers['set-cookie'], undefined, 'no cookie on a token answer');
    const me = await bearer(app, '/api/currentUser', tokens.body.access_token);
    assert.equal(me.body.username, USER.username);
    assert.equal(me.headers['set-cookie'], undefined, 'no cookie on a Bearer answer');
    // A public client refreshes with its client_id alone; the refresh token rotates.
    const refreshed = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: SPA.clientId }, '');
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.notEqual(refreshed.body.refresh_token, tokens.body.refresh_token);
  });

  it('should store only the code\'s hash, bound to the grant its tokens belong to', async () => {
    await browser.signIn(USER.username, USER.password);
    const { verifier, challenge } = pkce();
    const code = await codeFor(browser, spaRequest(challenge, { resource: 'https://api.example/' }));
    const [ row ] = await app.mysql.query('SELECT * FROM oauth_authorization_codes');
    assert.notEqual(row.code_hash, code);
    assert.equal(row.resource, 'https://api.example/');
    assert.equal(row.code_challenge, challenge);
    assert.ok(row.expires_at.getTime() - row.gmt_create.getTime() <= 60_000, 'a code lives 60 s');
    await exchange(code, verifier);
    const [ token ] = await app.mysql.query('SELECT grant_id FROM oauth_tokens');
    assert.equal(token.grant_id, row.grant_id);
  });

  describe('consent', () => {
    const webRequest = (extra: Record<string, string> = {}) => ({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri, state: 'w-1', scope: 'read', ...extra });

    it('should ask, and on approval send a code that the confidential client exchanges with its secret', async () => {
      await browser.signIn(USER.username, USER.password);
      const page = await browser.get(authorizePath(webRequest()));
      assert.equal(page.status, 200);
      assert.match(page.text, /Allow web to access your account\?/);
      assert.match(page.text, /<li>read<\/li>/);
      assert.match(page.headers['content-security-policy'], /form-action 'self' https:\/\/web\.example/);
      const approved = await browser.post('/oauth/authorize', { ...webRequest(), _csrf: csrfOf(page.text), decision: 'approve' });
      assert.equal(approved.status, 302, approved.text);
      const code = redirectParams(approved.headers.location).get('code') as string;
      const tokens = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: WEB.redirectUri }, basic(WEB.clientId, CLIENT.secret));
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
      assert.equal(tokens.body.scope, 'read');
    });

    it('should remember an approval for these scopes, and ask again for more', async () => {
      await browser.signIn(USER.username, USER.password);
      const page = await browser.get(authorizePath(webRequest()));
      await browser.post('/oauth/authorize', { ...webRequest(), _csrf: csrfOf(page.text), decision: 'approve' });
      assert.equal((await browser.get(authorizePath(webRequest()))).status, 302, 'remembered');
      assert.equal((await browser.get(authorizePath(webRequest({ scope: 'read write' })))).status, 200, 'asked again');
    });

    it('should redirect with error=access_denied, state and iss when the user denies', async () => {
      await browser.signIn(USER.username, USER.password);
      const page = await browser.get(authorizePath(webRequest()));
      const denied = await browser.post('/oauth/authorize', { ...webRequest(), _csrf: csrfOf(page.text), decision: 'deny' });
      assert.equal(denied.status, 302);
      const params = redirectParams(denied.headers.location);
      assert.equal(params.get('error'), 'access_denied');
      assert.equal(params.get('state'), 'w-1');
      assert.ok(params.get('iss'));
      assert.equal(params.get('code'), null);
    });

    it('should 403 an approval without the CSRF token', async () => {
      await browser.signIn(USER.username, USER.password);
      const res = await browser.post('/oauth/authorize', { ...webRequest(), decision: 'approve' });
      assert.equal(res.status, 403);
      assert.equal(res.headers.location, undefined);
    });
  });

  describe('errors shown as a page, never redirected (unknown client, redirect URI not registered)', () => {
    for (const [ name, params ] of Object.entries<Record<string, string>>({
      'an unknown client': { response_type: 'code', client_id: 'nobody', redirect_uri: SPA.redirectUri },
      'a redirect URI that is not registered': { response_type: 'code', client_id: SPA.clientId, redirect_uri: 'https://evil.example/cb' },
      'a redirect URI that differs by a trailing slash': { response_type: 'code', client_id: SPA.clientId, redirect_uri: `${SPA.redirectUri}/` },
      'no redirect URI when the client has several': { response_type: 'code', client_id: SPA.clientId },
    })) {
      it(`should answer ${name} with an HTML 400 page`, async () => {
        const res = await browser.get(authorizePath(params));
        assert.equal(res.status, 400);
        assert.equal(res.headers.location, undefined);
        assert.match(res.headers['content-type'], /text\/html/);
      });
    }
  });

  describe('errors sent back to the client with error, error_description, state and iss', () => {
    beforeEach(() => browser.signIn(USER.username, USER.password));
    const { challenge } = pkce();
    for (const [ name, extra, error ] of [
      [ 'response_type=token', { response_type: 'token' }, 'unsupported_response_type' ],
      [ 'a public client without code_challenge', { code_challenge: '', code_challenge_method: '' }, 'invalid_request' ],
      [ 'code_challenge_method=plain', { code_challenge_method: 'plain' }, 'invalid_request' ],
      [ 'a code_challenge that is no S256 hash', { code_challenge: 'short' }, 'invalid_request' ],
      [ 'a scope outside the client\'s', { scope: 'admin' }, 'invalid_scope' ],
      [ 'a resource the client is not registered for', { resource: 'https://other.example/' }, 'invalid_target' ],
    ] as Array<[string, Record<string, string>, string]>) {
      it(`should redirect with error=${error} for ${name}`, async () => {
        const res = await browser.get(authorizePath(spaRequest(challenge, extra)));
        assert.equal(res.status, 302, res.text);
        const location = new URL(res.headers.location);
        assert.equal(`${location.origin}${location.pathname}`, SPA.redirectUri);
        assert.equal(location.searchParams.get('error'), error);
        assert.ok(location.searchParams.get('error_description'));
        assert.equal(location.searchParams.get('state'), 'st-1');
        assert.ok(location.searchParams.get('iss'));
      });
    }

    it('should keep the registered redirect URI\'s own query on an error redirect', async () => {
      const res = await browser.get(authorizePath({ response_type: 'token', client_id: WEB.clientId, redirect_uri: 'https://web.example/other?tenant=7', state: 'q' }));
      const location = new URL(res.headers.location);
      assert.equal(location.searchParams.get('tenant'), '7');
      assert.equal(location.searchParams.get('error'), 'unsupported_response_type');
      assert.equal(location.searchParams.get('state'), 'q');
    });
  });

  it('should accept a loopback redirect URI on another port (RFC 8252 §7.3), and nothing else on it', async () => {
    await browser.signIn(USER.username, USER.password);
    const { challenge } = pkce();
    assert.equal((await browser.get(authorizePath(spaRequest(challenge, { redirect_uri: 'http://127.0.0.1:49152/cb' })))).status, 302);
    assert.equal((await browser.get(authorizePath(spaRequest(challenge, { redirect_uri: 'http://127.0.0.1:49152/other' })))).status, 400);
  });
});

describe('[POST /oauth/token] grant_type=authorization_code', () => {
  let browser: CookieBrowser;
  let verifier: string;
  let code: string;
  beforeEach(async () => {
    await createUser(app);
    await registerClients();
    browser = new CookieBrowser(app);
    await browser.signIn(USER.username, USER.password);
    const pair = pkce();
    verifier = pair.verifier;
    code = await codeFor(browser, spaRequest(pair.challenge));
  });

  it('should 400 invalid_grant for a wrong code_verifier, and burn the code', async () => {
    const wrong = await exchange(code, pkce().verifier);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
    assert.equal((await exchange(code, verifier)).body.error, 'invalid_grant');
  });

  it('should 400 invalid_grant without code_verifier', async () => {
    const res = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: SPA.redirectUri, client_id: SPA.clientId }, '');
    assert.equal(res.body.error, 'invalid_grant');
  });

  it('should 400 invalid_grant for a redirect_uri other than the authorization request\'s', async () => {
    const res = await exchange(code, verifier, { redirect_uri: 'http://127.0.0.1/cb' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
  });

  it('should 400 invalid_grant once the code has expired', async () => {
    await app.mysql.query('UPDATE oauth_authorization_codes SET expires_at = ?', [ new Date(Date.now() - 1000) ]);
    assert.equal((await exchange(code, verifier)).body.error, 'invalid_grant');
  });

  it('should revoke every token issued from a code that comes back (RFC 6749 §4.1.2)', async () => {
    const first = await exchange(code, verifier);
    assert.equal(first.status, 200);
    const replay = await exchange(code, verifier);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal(await tokenStatus(app, first.body.access_token), 401);
    const refresh = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: SPA.clientId }, '');
    assert.equal(refresh.body.error, 'invalid_grant');
  });

  it('should give one of two simultaneous exchanges the tokens, and then revoke them', async () => {
    const results = await Promise.all([ exchange(code, verifier), exchange(code, verifier) ]);
    const ok = results.filter(r => r.status === 200);
    assert.equal(ok.length, 1, JSON.stringify(results.map(r => r.body)));
    assert.equal(results.filter(r => r.body.error === 'invalid_grant').length, 1);
    assert.equal(await tokenStatus(app, ok[0].body.access_token), 401);
  });

  it('should refuse another client\'s code without revoking anything', async () => {
    const res = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: SPA.redirectUri }, basic(WEB.clientId, CLIENT.secret));
    assert.equal(res.body.error, 'invalid_grant');
    assert.equal((await exchange(code, verifier)).status, 200);
  });

  it('should 401 invalid_client when a confidential client sends its client_id without its secret', async () => {
    const res = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: WEB.redirectUri, client_id: WEB.clientId, code_verifier: verifier }, '');
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
  });

  it('should not let a public client introspect', async () => {
    const res = await clientPost(app, '/oauth/introspect', { token: 'x', client_id: SPA.clientId }, '');
    assert.equal(res.status, 401);
  });
});

describe('[GET, POST /login] the sign-in page', () => {
  let browser: CookieBrowser;
  beforeEach(async () => {
    await createUser(app);
    browser = new CookieBrowser(app);
  });

  it('should label its fields Username and Password and carry a CSRF token', async () => {
    const page = await browser.get('/login');
    assert.equal(page.status, 200);
    assert.match(page.text, /<label for="username">Username<\/label>/);
    assert.match(page.text, /<label for="password">Password<\/label>/);
    assert.ok(csrfOf(page.text));
    assert.match(page.headers['set-cookie']?.[0] ?? '', /oauth2_session=.*httponly/i);
    assert.match(page.headers['set-cookie']?.[0] ?? '', /samesite=lax/i);
  });

  it('should start a new session at login (no fixation) and a new CSRF token', async () => {
    const page = await browser.get('/login');
    const before = browser.cookies.get('oauth2_session');
    const res = await browser.post('/login', { _csrf: csrfOf(page.text), username: USER.username, password: USER.password, return_to: '/' });
    assert.equal(res.status, 302);
    assert.notEqual(browser.cookies.get('oauth2_session'), before);
    const old = await browser.post('/logout', { _csrf: csrfOf(page.text) });
    assert.equal(old.status, 403, 'the CSRF token of the page before the login no longer works');
  });

  it('should answer a wrong password, an unknown user and a disabled user with the same message', async () => {
    await createUser(app, { username: 'carol', email: 'carol@example.com' });
    await app.container.accounts.setEnabled('carol', false);
    const texts = [];
    for (const [ username, password ] of [[ USER.username, 'wrong password' ], [ 'nobody', USER.password ], [ 'carol', USER.password ]]) {
      const page = await browser.get('/login');
      const res = await browser.post('/login', { _csrf: csrfOf(page.text), username, password });
      assert.equal(res.status, 400);
      texts.push(/<p class="message" role="alert">([^<]*)<\/p>/.exec(res.text)?.[1]);
    }
    assert.deepEqual(texts, [ 'Wrong username or password.', 'Wrong username or password.', 'Wrong username or password.' ]);
  });

  it('should go on only to a local path (no open redirect)', async () => {
    for (const returnTo of [ '//evil.example/x', 'https://evil.example/', '/\\evil.example' ]) {
      const res = await browser.signIn(USER.username, USER.password, returnTo);
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/', returnTo);
    }
  });

  it('should 403 a login without the CSRF token', async () => {
    const res = await browser.post('/login', { username: USER.username, password: USER.password });
    assert.equal(res.status, 403);
  });

  describe('session lifetimes (oauth.session)', () => {
    afterEach(mock.restore);
    const consentPath = () => authorizePath({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri });

    it('should sign the browser out after the idle lifetime without a request', async () => {
      await registerClients();
      mock(app.config.oauth.session, 'idleSeconds', 1);
      await browser.signIn(USER.username, USER.password);
      assert.equal((await browser.get(consentPath())).status, 200);
      await sleep(1200);
      assert.match((await browser.get(consentPath())).headers.location, /^\/login\?/);
    });

    it('should sign the browser out after the absolute lifetime, however busy', async () => {
      await registerClients();
      mock(app.config.oauth.session, 'absoluteSeconds', 2);
      await browser.signIn(USER.username, USER.password);
      for (let i = 0; i < 2; i++) {
        assert.equal((await browser.get(consentPath())).status, 200);
        await sleep(900);
      }
      await sleep(400);
      assert.match((await browser.get(consentPath())).headers.location, /^\/login\?/);
    });

    it('should sign the browser out when the user is disabled', async () => {
      await registerClients();
      await browser.signIn(USER.username, USER.password);
      await app.container.accounts.setEnabled(USER.username, false);
      assert.match((await browser.get(consentPath())).headers.location, /^\/login\?/);
    });
  });

  it('should end the session at POST /logout', async () => {
    await registerClients();
    await browser.signIn(USER.username, USER.password);
    const page = await browser.get(authorizePath({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri }));
    assert.equal(page.status, 200);
    await browser.post('/logout', { _csrf: csrfOf(page.text) });
    const after = await browser.get(authorizePath({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri }));
    assert.equal(after.status, 302);
    assert.match(after.headers.location, /^\/login\?/);
  });
});
