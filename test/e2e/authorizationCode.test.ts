import { strict as assert } from 'node:assert';
import type http from 'node:http';
import path from 'node:path';
import { app } from 'egg-mock/bootstrap';
import type * as OpenIdClient from 'openid-client';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { CLIENT, USER, closeServer, createUser, serveOnLoopback } from '../helpers';
import { SCREENSHOTS, launchChromium } from './chromium';

/** A first-party browser app: no secret (PKCE), no consent page. */
const PUBLIC_CLIENT = 'e2e_public';
/** A third-party web app: a secret (HTTP Basic), and the user is asked. */
const CONFIDENTIAL_CLIENT = 'e2e_confidential';
/** The scope every request of these tests asks for. */
const SCOPE = 'read';

const CSP_VIOLATION = /Content Security Policy/i;

type OpenId = typeof OpenIdClient;

/** Chromium did not arrive at the client's redirect URI. */
class NotAtClient extends Error {
  constructor(why: string, options?: ErrorOptions) {
    super(`Chromium did not go on to the client: ${why}`, options);
  }
}

/** One authorization request as the client built it, and what it keeps to check the response. */
interface AuthorizationRequest {
  url: URL;
  pkceCodeVerifier: string;
  expectedState: string;
}

describe('[GET /oauth/authorize] a standard client (openid-client 6) in Chromium', () => {
  /** openid-client is an ES module: imported once, in `before`. */
  let oidc: OpenId;
  let server: http.Server;
  let issuer: string;
  /** The clients' redirect URI: a loopback server that records the query of each request to /cb. */
  let callbackServer: http.Server;
  let callbackOrigin: string;
  let redirectUri: string;
  let callbacks: URLSearchParams[];
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Uncaught exceptions and CSP violations of any page: there must be none. */
  let pageFaults: string[];

  before(async () => {
    oidc = await import('openid-client');
    ({ server, origin: issuer } = await serveOnLoopback(app.callback()));
    ({ server: callbackServer, origin: callbackOrigin } = await serveOnLoopback((req, res) => {
      const url = new URL(req.url ?? '/', callbackOrigin);
      if (url.pathname !== '/cb') {
        res.writeHead(404).end();
        return;
      }
      callbacks.push(url.searchParams);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
        .end('<!doctype html><html lang="en"><head><title>Client</title><link rel="icon" href="data:,"></head><body><h1>Back at the client</h1></body></html>');
    }));
    redirectUri = `${callbackOrigin}/cb`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await closeServer(server);
    await closeServer(callbackServer);
  });

  beforeEach(async () => {
    await createUser(app);
    await app.container.accounts.createClient({
      clientId: PUBLIC_CLIENT, grants: [ 'authorization_code', 'refresh_token' ], redirectUris: [ redirectUri ],
      public: true, skipConsent: true, scopes: [ 'read', 'write' ],
    });
    await app.container.accounts.createClient({
      clientId: CONFIDENTIAL_CLIENT, secret: CLIENT.secret, grants: [ 'authorization_code', 'refresh_token' ], redirectUris: [ redirectUri ],
      scopes: [ 'read', 'write' ],
    });
    callbacks = [];
    await newBrowserContext();
  });

  afterEach(async () => {
    await context.close();
    assert.deepEqual(pageFaults, []);
  });

  async function newBrowserContext(options: { javaScriptEnabled?: boolean } = {}) {
    await context?.close();
    context = await browser.newContext(options);
    context.setDefaultTimeout(10_000);
    pageFaults = [];
    context.on('page', watched => {
      watched.on('pageerror', err => pageFaults.push(`uncaught: ${err.message}`));
      watched.on('console', msg => {
        if (CSP_VIOLATION.test(msg.text())) pageFaults.push(msg.text());
      });
    });
    page = await context.newPage();
  }

  /** The client configures itself from the server's RFC 8414 metadata (plain http: loopback only). */
  function discover(clientId: string, clientAuth: OpenIdClient.ClientAuth): Promise<OpenIdClient.Configuration> {
    return oidc.discovery(new URL(issuer), clientId, undefined, clientAuth, { algorithm: 'oauth2', execute: [ oidc.allowInsecureRequests ] });
  }

  /** The client's authorization request: PKCE with S256, a random state. */
  async function authorizationRequest(config: OpenIdClient.Configuration): Promise<AuthorizationRequest> {
    const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
    const expectedState = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: SCOPE, state: expectedState,
      code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier), code_challenge_method: 'S256',
    });
    return { url, pkceCodeVerifier, expectedState };
  }

  /** Chromium follows the authorization URL to the server's login page and fills it in, found by its labels. */
  async function openLoginPage(request: AuthorizationRequest) {
    const response = await page.goto(request.url.href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const here = new URL(page.url());
    assert.equal(`${here.origin}${here.pathname}`, `${issuer}/login`);
    // The browser enforces the server's own policy (not weakened here): where its forms may lead.
    assert.match(response?.headers()['content-security-policy'] ?? '', /form-action 'self'/);
    await page.getByLabel('Username').fill(USER.username);
    await page.getByLabel('Password').fill(USER.password);
  }

  /**
   * Does `act` (a click, a navigation) and waits for Chromium to arrive at the client's redirect URI.
   * When a Content Security Policy blocks the way there, fails at once with Chromium's own message;
   * else, after the timeout, with the address Chromium shows instead.
   */
  async function untilCallback(act: () => Promise<void>): Promise<URL> {
    callbacks = [];
    // A navigation that starts now (the page may show the client's page of an earlier response).
    const arrived = page.waitForEvent('framenavigated', {
      predicate: frame => frame === page.mainFrame() && frame.url().split('?')[0] === redirectUri,
    });
    // Rejects with Chromium's message on a violation; never settles otherwise (the context closes first).
    const blocked = page.waitForEvent('console', { predicate: (msg: ConsoleMessage) => CSP_VIOLATION.test(msg.text()), timeout: 0 })
      .then(msg => Promise.reject(new NotAtClient(msg.text())), () => new Promise<never>(() => undefined));
    try {
      await Promise.race([ Promise.all([ arrived, act() ]), blocked ]);
    } catch (err) {
      if (err instanceof NotAtClient) throw err;
      throw new NotAtClient(`it shows ${page.url()}`, { cause: err });
    }
    await page.getByRole('heading', { name: 'Back at the client' }).waitFor();
    const reached = new URL(page.url());
    assert.equal(callbacks.length, 1, 'the client got one authorization response');
    assert.equal(callbacks[0].toString(), reached.searchParams.toString(), 'the one Chromium shows');
    return reached;
  }

  function clickButton(name: string): () => Promise<void> {
    return () => page.getByRole('button', { name, exact: true }).click();
  }

  /**
   * What the resource server says to this access token: the user, or (openid-client throws on a
   * WWW-Authenticate challenge) the status and the Bearer challenge's error.
   */
  async function currentUser(config: OpenIdClient.Configuration, accessToken: string): Promise<{ status: number; username?: string; error?: string }> {
    try {
      const res = await oidc.fetchProtectedResource(config, accessToken, new URL(`${issuer}/api/currentUser`), 'GET');
      const body = await res.json() as { username: string };
      return { status: res.status, username: body.username };
    } catch (err) {
      if (!(err instanceof oidc.WWWAuthenticateChallengeError)) throw err;
      const bearer = err.cause.find(challenge => challenge.scheme === 'bearer');
      return { status: err.status, error: bearer?.parameters.error };
    }
  }

  it('should sign in for a public client (PKCE, no secret, no consent page) whose tokens work and refresh', async () => {
    const config = await discover(PUBLIC_CLIENT, oidc.None());
    const metadata = config.serverMetadata();
    assert.equal(metadata.authorization_endpoint, `${issuer}/oauth/authorize`);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    const request = await authorizationRequest(config);

    await openLoginPage(request);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'login-page.png'), fullPage: true });
    const callback = await untilCallback(clickButton('Sign in'));
    assert.equal(callback.searchParams.get('state'), request.expectedState);
    assert.equal(callback.searchParams.get('iss'), issuer);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState,
    });
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, SCOPE);
    assert.ok(tokens.refresh_token, 'a refresh token');
    assert.ok((tokens.expiresIn() ?? 0) > 0, 'an expiry');
    assert.deepEqual(await currentUser(config, tokens.access_token), { status: 200, username: USER.username });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
    assert.deepEqual(await currentUser(config, refreshed.access_token), { status: 200, username: USER.username });
    assert.deepEqual(await currentUser(config, tokens.access_token), { status: 401, error: 'invalid_token' }, 'the old access token was rotated out');
  });

  it('should ask the user for a confidential client (HTTP Basic), on Allow give it a code that it exchanges, and not ask again', async () => {
    const config = await discover(CONFIDENTIAL_CLIENT, oidc.ClientSecretBasic(CLIENT.secret));
    const request = await authorizationRequest(config);

    await openLoginPage(request);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: `Allow ${CONFIDENTIAL_CLIENT} to access your account?` }).waitFor();
    assert.equal(await page.getByRole('listitem').textContent(), SCOPE);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'consent-page.png'), fullPage: true });
    assert.deepEqual(callbacks, [], 'nothing went to the client before the user answered');
    const callback = await untilCallback(clickButton('Allow'));

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState,
    });
    assert.equal(tokens.scope, SCOPE);
    assert.deepEqual(await currentUser(config, tokens.access_token), { status: 200, username: USER.username });
    assert.ok(tokens.refresh_token);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.deepEqual(await currentUser(config, refreshed.access_token), { status: 200, username: USER.username });

    // The next time, signed in and with these scopes approved, Chromium goes straight back to the client.
    const again = await authorizationRequest(config);
    const second = await untilCallback(async () => { await page.goto(again.url.href); });
    const more = await oidc.authorizationCodeGrant(config, second, { pkceCodeVerifier: again.pkceCodeVerifier, expectedState: again.expectedState });
    assert.deepEqual(await currentUser(config, more.access_token), { status: 200, username: USER.username });
  });

  it('should send access_denied with state and iss to the client when the user clicks Deny, and no code', async () => {
    const config = await discover(CONFIDENTIAL_CLIENT, oidc.ClientSecretBasic(CLIENT.secret));
    const request = await authorizationRequest(config);

    await openLoginPage(request);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: `Allow ${CONFIDENTIAL_CLIENT} to access your account?` }).waitFor();
    const callback = await untilCallback(clickButton('Deny'));
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.get('state'), request.expectedState);
    assert.equal(callback.searchParams.get('iss'), issuer);
    assert.equal(callback.searchParams.get('code'), null);

    // openid-client checks iss and state first, then reports the error.
    await assert.rejects(
      oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState }),
      (err: unknown) => err instanceof oidc.AuthorizationResponseError && err.error === 'access_denied',
    );
  });

  it('should go on to the client after a wrong password and then the right one', async () => {
    const config = await discover(PUBLIC_CLIENT, oidc.None());
    const request = await authorizationRequest(config);

    await openLoginPage(request);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    assert.equal(await page.getByLabel('Username').inputValue(), USER.username, 'the username is kept');
    await page.getByLabel('Password').fill(USER.password);
    const callback = await untilCallback(clickButton('Sign in'));

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState,
    });
    assert.deepEqual(await currentUser(config, tokens.access_token), { status: 200, username: USER.username });
  });

  it('should work with JavaScript turned off: the login and consent pages are plain forms', async () => {
    await newBrowserContext({ javaScriptEnabled: false });
    const config = await discover(CONFIDENTIAL_CLIENT, oidc.ClientSecretBasic(CLIENT.secret));
    const request = await authorizationRequest(config);

    await openLoginPage(request);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: `Allow ${CONFIDENTIAL_CLIENT} to access your account?` }).waitFor();
    const callback = await untilCallback(clickButton('Allow'));

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.expectedState,
    });
    assert.deepEqual(await currentUser(config, tokens.access_token), { status: 200, username: USER.username });
  });
});
