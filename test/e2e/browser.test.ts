import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { app, mock } from 'egg-mock/bootstrap';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { loadDemoData } from '../../app/infra/demo';
import { DEMO_CLIENT, DEMO_CODE_CLIENT, DEMO_USER } from '../../config/demo';
import { USER, basic, bearer, closeServer, createClient, createUser, refresh, serveOnLoopback } from '../helpers';
import { SmsOutbox } from '../smsOutbox';
import { SCREENSHOTS, launchChromium } from './chromium';

const DEMO_AUTH = basic(DEMO_CLIENT.clientId, DEMO_CLIENT.secret);
/** A first-party client whose access tokens live 3 seconds: long enough to sign in, short enough to wait out. */
const SHORT_LIVED = { clientId: 'e2e_spa', secret: 'e2e-spa-secret', grants: [ 'password', 'refresh_token' ], accessTokenLifetime: 3 };

/** What the page keeps (app/public/api.js). */
interface StoredToken {
  access_token: string;
  refresh_token: string | null;
  expires_in: number;
  issued_at: number;
  /** How it was got: the password form, or the code flow of the public client `client_id`. */
  mode: 'password' | 'code';
  client_id?: string;
}

/** The sign-in flow a tab has under way (sessionStorage), as app/public/api.js keeps it. */
const CODE_FLOW_KEY = 'oauth2-demo.code-flow';
const CODE_FLOW_BUTTON = 'Sign in with the authorization server';
/** RFC 7636 §4.1: 32 random bytes, base64url. */
const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;

/** A request of the page to the server's API or OAuth endpoints, with its answer's status. */
interface Exchange {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
  status: number;
  retryAfter: string | undefined;
}

/**
 * Records the API and OAuth exchanges of every page of the context, in the order of their answers.
 * Request headers arrive a moment later: await `headersRecorded()` before reading them.
 */
function recordExchanges(context: BrowserContext): { exchanges: Exchange[]; headersRecorded: () => Promise<void> } {
  const exchanges: Exchange[] = [];
  const pending: Promise<void>[] = [];
  context.on('response', response => {
    const request = response.request();
    const { pathname } = new URL(request.url());
    if (!/^\/(api|oauth)\//.test(pathname)) return;
    const exchange: Exchange = {
      method: request.method(), path: pathname, headers: {}, body: request.postData(), status: response.status(),
      retryAfter: response.headers()['retry-after'],
    };
    exchanges.push(exchange);
    pending.push(request.allHeaders().then(headers => { exchange.headers = headers; }));
  });
  return { exchanges, headersRecorded: async () => { await Promise.all(pending); } };
}

function grantType(exchange: Exchange): string | null {
  return new URLSearchParams(exchange.body ?? '').get('grant_type');
}

/** The token the page holds, read through its own module (the same instance the page runs). */
function storedToken(page: Page): Promise<StoredToken | null> {
  return page.evaluate<StoredToken | null>('import("/public/api.js").then(api => api.storedToken())');
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** "Sign in with the authorization server", then the username and password on the server's own login page. */
async function signInWithServer(page: Page, username: string, password: string) {
  await page.getByRole('button', { name: CODE_FLOW_BUTTON }).click();
  await page.waitForURL(url => url.pathname === '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** The state of the sign-in this tab has under way, or null. */
async function pendingState(page: Page): Promise<string | null> {
  const saved = await page.evaluate(key => sessionStorage.getItem(key), CODE_FLOW_KEY);
  return saved === null ? null : JSON.parse(saved).state;
}

function isTokenRequest(exchange: Exchange): boolean {
  return exchange.path === '/oauth/token' || exchange.path === '/api/user/token';
}

/** Waits for the signed-in view of this user, with every call of its loading answered. */
async function signedIn(page: Page, username: string) {
  await page.getByRole('heading', { name: `Signed in as ${username}` }).waitFor();
  await page.waitForFunction(() => document.getElementById('account')?.getAttribute('aria-busy') === null);
}

async function apiStatus(token: string): Promise<number> {
  return (await bearer(app, '/api/currentUser', token)).status;
}

async function grantRevocation(): Promise<string | null> {
  const [ grant ] = await app.mysql.query('SELECT revoke_reason FROM oauth_grants');
  return grant.revoke_reason;
}

/** Waits until the page has said something, an error or a status, and returns both lines. */
async function outcome(page: Page): Promise<{ message: string; status: string }> {
  await page.waitForFunction(() => document.getElementById('message')?.textContent !== '' ||
    document.getElementById('status')?.textContent !== '');
  return { message: await page.locator('#message').textContent() ?? '', status: await page.locator('#status').textContent() ?? '' };
}

describe('[GET /] the browser front end, in Chromium', () => {
  let server: http.Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let exchanges: Exchange[];
  let headersRecorded: () => Promise<void>;
  /** Uncaught exceptions and CSP violations of any page: there must be none. */
  let pageFaults: string[];

  before(async () => {
    ({ server, origin } = await serveOnLoopback(app.callback()));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await closeServer(server);
  });

  beforeEach(async () => {
    await loadDemoData(app.container);
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    ({ exchanges, headersRecorded } = recordExchanges(context));
    pageFaults = [];
    context.on('page', watched => {
      watched.on('pageerror', err => pageFaults.push(`uncaught: ${err.message}`));
      watched.on('console', msg => {
        if (/Content Security Policy/i.test(msg.text())) pageFaults.push(msg.text());
      });
    });
    page = await context.newPage();
  });

  afterEach(async () => {
    await context.close();
    mock.restore();
    assert.deepEqual(pageFaults, []);
  });

  it('should sign in with the original front end\'s token request, then show the user and the admin-only user list with Bearer calls', async () => {
    const pageResponse = await page.goto(origin);
    assert.match(pageResponse?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    await page.getByRole('cell', { name: 'demo', exact: true }).waitFor();

    await headersRecorded();
    const [ login ] = exchanges.filter(e => e.path === '/api/user/token');
    assert.equal(login.method, 'POST');
    assert.equal(login.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(login.headers.authorization, 'Basic bXlfYXBwOm15X3NlY3JldA==');
    assert.equal(login.body, 'username=demo&password=demo-password&grant_type=password');
    assert.equal(login.status, 200);

    const token = await storedToken(page);
    assert.ok(token, 'the page keeps the token');
    assert.ok(Math.abs(token.issued_at - Date.now()) < 10_000, 'with its issue time');
    assert.equal(token.mode, 'password', 'and the mode to refresh and revoke it with');
    const apiCalls = exchanges.filter(e => e.path.startsWith('/api/') && e.path !== '/api/user/token');
    assert.deepEqual(apiCalls.map(e => [ e.path, e.status ]), [[ '/api/currentUser', 200 ], [ '/api/getUser', 200 ]]);
    for (const call of apiCalls) assert.equal(call.headers.authorization, `Bearer ${token.access_token}`);

    assert.equal(await page.evaluate(() => document.activeElement?.id), 'account-heading', 'focus moves to the signed-in view');
    assert.equal(await page.getByRole('region', { name: /All users/ }).isVisible(), true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'signed-in-admin.png'), fullPage: true });

    // A reload keeps the login.
    await page.reload();
    await signedIn(page, 'demo');
  });

  it('should refresh an expiring access token silently, once, for parallel calls in one tab and for a second tab', async () => {
    await createClient(app, SHORT_LIVED);
    mock(app.config.frontend, 'clientId', SHORT_LIVED.clientId);
    mock(app.config.frontend, 'clientSecret', SHORT_LIVED.secret);
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    const first = await storedToken(page);
    assert.ok(first);
    assert.ok(first.expires_in <= 3, `expires_in ${first.expires_in}`);

    // A slow refresh, so that every caller below asks for a token while it is in flight.
    await context.route('**/api/user/token', async route => {
      if (new URLSearchParams(route.request().postData() ?? '').get('grant_type') === 'refresh_token') await sleep(1000);
      await route.continue();
    });
    await sleep(first.issued_at + first.expires_in * 1000 + 200 - Date.now());
    const secondTab = await context.newPage();
    await Promise.all([
      // three calls at once in the first tab...
      page.evaluate(`import("/public/api.js").then(api => Promise.all([
        api.apiFetch("/api/currentUser"), api.apiFetch("/api/currentUser"), api.apiFetch("/api/getUser")]))`),
      page.getByRole('button', { name: 'Reload' }).click(),
      // ...while a second tab opens with the same expired token
      secondTab.goto(origin).then(() => signedIn(secondTab, 'demo')),
    ]);
    await signedIn(page, 'demo');

    await headersRecorded();
    const refreshes = exchanges.filter(e => grantType(e) === 'refresh_token');
    assert.equal(refreshes.length, 1, 'one refresh for all of them');
    assert.equal(refreshes[0].status, 200);
    assert.deepEqual(exchanges.filter(e => e.status === 401), [], 'proactive: no call was refused first');
    const second = await storedToken(secondTab);
    assert.ok(second);
    assert.notEqual(second.access_token, first.access_token);
    assert.deepEqual(await storedToken(page), second, 'both tabs hold the new token');
    for (const call of exchanges.filter(e => e.path.startsWith('/api/') && e.path !== '/api/user/token' && e.headers.authorization !== `Bearer ${first.access_token}`)) {
      assert.equal(call.headers.authorization, `Bearer ${second.access_token}`);
    }
    assert.equal(await page.locator('#message').textContent(), '', 'silently: no message');
    assert.equal(await grantRevocation(), null, 'no refresh token was presented twice: the login lives');
    assert.equal(await apiStatus(first.access_token), 401, 'the old access token was rotated out');
    assert.equal(await apiStatus(second.access_token), 200);
  });

  it('should refresh and retry once when the server refuses an access token that had not expired locally (401)', async () => {
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    const first = await storedToken(page);
    assert.ok(first);
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?', [ new Date(Date.now() - 1000) ]);
    // A change behind the server's back is not in the revocation feed: the worker's cache must forget it.
    app.container.tokenCache?.clear();
    exchanges.length = 0;

    await page.getByRole('button', { name: 'Reload' }).click();
    await signedIn(page, 'demo');

    await headersRecorded();
    assert.deepEqual(exchanges.map(e => [ e.path, grantType(e), e.status ]), [
      [ '/api/currentUser', null, 401 ],
      [ '/api/user/token', 'refresh_token', 200 ],
      [ '/api/currentUser', null, 200 ],
      [ '/api/getUser', null, 200 ],
    ]);
    const second = await storedToken(page);
    assert.ok(second);
    assert.equal(exchanges[2].headers.authorization, `Bearer ${second.access_token}`);
    assert.equal(await page.locator('#message').textContent(), '');
  });

  it('should not show the user list to a user without the admin role, nor ask for it', async () => {
    await createUser(app, { username: 'bob', email: 'bob@example.com' });
    await page.goto(origin);
    await signIn(page, 'bob', USER.password);
    await signedIn(page, 'bob');
    assert.equal(await page.locator('#users').isVisible(), false);
    assert.equal(await page.getByRole('table').count(), 0);
    assert.deepEqual(exchanges.filter(e => e.path === '/api/getUser'), []);
  });

  it('should say when the username or password is wrong, mark the fields and keep no token', async () => {
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, 'not-the-password');
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'Wrong username or password.' }).waitFor();
    assert.equal(await alert.textContent(), 'Wrong username or password.');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'focus returns to the password');
    assert.equal(await storedToken(page), null);
    assert.equal(await page.getByRole('heading', { name: /Signed in/ }).count(), 0);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'wrong-password.png'), fullPage: true });
  });

  it('should show the server\'s throttling: the wait from Retry-After, and no new attempt before it', async () => {
    // Blocked after one failure, rather than the five of the default policy.
    mock(app.config.oauth.throttle, 'userIp', { threshold: 1, windowSeconds: 900, stepSeconds: 30, maxBlockSeconds: 900 });
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await page.getByRole('alert').filter({ hasText: 'Too many attempts.' }).waitFor();

    const throttled = exchanges.filter(e => e.status === 429);
    assert.equal(throttled.length, 1);
    assert.match(throttled[0].retryAfter ?? '', /^[1-9]\d*$/);
    assert.equal(await page.getByRole('alert').textContent(), `Too many attempts. Try again in ${throttled[0].retryAfter} seconds.`);
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).isDisabled(), true);
    assert.equal(await storedToken(page), null);
  });

  it('should show a message for server errors and network failures', async () => {
    const cases: [string, (route: Route) => Promise<void>, string][] = [
      [ '503', route => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"temporarily_unavailable","error_description":"x"}' }),
        'The server could not answer (error 503). Try again in a moment.' ],
      [ '502 from a proxy, not JSON', route => route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad gateway</h1>' }),
        'The server could not answer (error 502). Try again in a moment.' ],
      [ 'no answer', route => route.abort('connectionrefused'),
        'Cannot reach the server. Check your connection and try again.' ],
    ];
    for (const [ name, answer, text ] of cases) {
      await page.route('**/api/user/token', answer);
      await page.goto(origin);
      await signIn(page, DEMO_USER.username, DEMO_USER.password);
      await page.getByRole('alert').filter({ hasText: text }).waitFor();
      assert.equal(await page.getByRole('alert').textContent(), text, name);
      assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).isEnabled(), true, `${name}: one may try again`);
      await page.unrouteAll();
    }
  });

  it('should say so, and offer no sign-in, when the server has no browser client configured', async () => {
    mock(app.config.frontend, 'clientId', '');
    mock(app.config.frontend, 'codeClientId', '');
    await page.goto(origin);
    const text = 'This server has no browser client configured (FRONTEND_CODE_CLIENT_ID, or FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET).';
    await page.getByRole('alert').filter({ hasText: text }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: CODE_FLOW_BUTTON }).isDisabled(), true);
  });

  it('should offer only the sign-in that the server has a client for', async () => {
    mock(app.config.frontend, 'clientId', '');
    await page.goto(origin);
    await page.getByRole('button', { name: CODE_FLOW_BUTTON, disabled: false }).waitFor();
    assert.equal(await page.getByLabel('Username').isVisible(), false, 'no password form without its client');
    assert.equal(await page.locator('#message').textContent(), '');
    mock.restore();
    mock(app.config.frontend, 'codeClientId', '');
    await page.reload();
    await page.getByRole('button', { name: 'Sign in', exact: true, disabled: false }).waitFor();
    assert.equal(await page.getByRole('button', { name: CODE_FLOW_BUTTON }).count(), 0);
  });

  it('should sign in with the authorization server (code flow with PKCE) and show the user', async () => {
    const authorizeRequests: URL[] = [];
    context.on('request', request => {
      const url = new URL(request.url());
      if (url.pathname === '/oauth/authorize') authorizeRequests.push(url);
    });
    await page.goto(origin);
    await signInWithServer(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    await page.getByRole('cell', { name: 'demo', exact: true }).waitFor();

    // The authorization request: S256 challenge, a state, the page itself as redirect URI.
    const authorize = authorizeRequests[0].searchParams;
    assert.equal(authorize.get('response_type'), 'code');
    assert.equal(authorize.get('client_id'), DEMO_CODE_CLIENT.clientId);
    assert.equal(authorize.get('redirect_uri'), `${origin}/`);
    assert.equal(authorize.get('code_challenge_method'), 'S256');
    assert.match(authorize.get('state') ?? '', BASE64URL_32_BYTES);

    // The code exchanged by fetch, as a public client: client_id and the verifier, no Authorization.
    await headersRecorded();
    const tokenRequests = exchanges.filter(isTokenRequest);
    assert.equal(tokenRequests.length, 1);
    const [ exchange ] = tokenRequests;
    assert.equal(exchange.method, 'POST');
    assert.equal(exchange.path, '/oauth/token');
    assert.equal(exchange.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(exchange.headers.authorization, undefined, 'no Authorization header');
    const sent = Object.fromEntries(new URLSearchParams(exchange.body ?? ''));
    assert.deepEqual(Object.keys(sent), [ 'grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id' ]);
    assert.equal(sent.grant_type, 'authorization_code');
    assert.equal(sent.client_id, DEMO_CODE_CLIENT.clientId);
    assert.equal(sent.redirect_uri, `${origin}/`);
    assert.match(sent.code_verifier, BASE64URL_32_BYTES);
    assert.equal(createHash('sha256').update(sent.code_verifier).digest('base64url'), authorize.get('code_challenge'));
    assert.equal(exchange.status, 200);

    // Neither the address bar nor sessionStorage keeps the code or the verifier.
    assert.equal(page.url(), `${origin}/`);
    assert.equal(await page.evaluate(() => location.search), '');
    assert.equal(await pendingState(page), null);

    const token = await storedToken(page);
    assert.ok(token?.refresh_token);
    assert.equal(token.mode, 'code');
    assert.equal(token.client_id, DEMO_CODE_CLIENT.clientId);
    const apiCalls = exchanges.filter(e => e.path.startsWith('/api/'));
    assert.deepEqual(apiCalls.map(e => [ e.path, e.status ]), [[ '/api/currentUser', 200 ], [ '/api/getUser', 200 ]]);
    for (const call of apiCalls) assert.equal(call.headers.authorization, `Bearer ${token.access_token}`);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'account-heading');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'signed-in-code-flow.png'), fullPage: true });

    // Refresh in this mode: the public client names itself with client_id, no Basic.
    await app.mysql.query('UPDATE oauth_tokens SET access_token_expires_at = ?', [ new Date(Date.now() - 1000) ]);
    app.container.tokenCache?.clear();
    exchanges.length = 0;
    await page.getByRole('button', { name: 'Reload' }).click();
    await signedIn(page, 'demo');
    await headersRecorded();
    assert.deepEqual(exchanges.map(e => [ e.path, grantType(e), e.status ]), [
      [ '/api/currentUser', null, 401 ],
      [ '/oauth/token', 'refresh_token', 200 ],
      [ '/api/currentUser', null, 200 ],
      [ '/api/getUser', null, 200 ],
    ]);
    assert.equal(exchanges[1].headers.authorization, undefined);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(exchanges[1].body ?? '')),
      { grant_type: 'refresh_token', refresh_token: token.refresh_token, client_id: DEMO_CODE_CLIENT.clientId });
    const refreshed = await storedToken(page);
    assert.ok(refreshed?.refresh_token);
    assert.notEqual(refreshed.access_token, token.access_token);
    assert.equal(refreshed.mode, 'code');
    assert.equal(exchanges[2].headers.authorization, `Bearer ${refreshed.access_token}`);

    // A reload keeps the login.
    await page.reload();
    await signedIn(page, 'demo');

    // Logout revokes, as the public client too.
    exchanges.length = 0;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'You are signed out.' }).waitFor();
    await headersRecorded();
    const [ revoke ] = exchanges.filter(e => e.path === '/oauth/revoke');
    assert.equal(revoke.headers.authorization, undefined);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(revoke.body ?? '')),
      { token: refreshed.refresh_token, token_type_hint: 'refresh_token', client_id: DEMO_CODE_CLIENT.clientId });
    assert.equal(revoke.status, 200);
    assert.equal(await storedToken(page), null);
    assert.equal(await apiStatus(refreshed.access_token), 401);
    assert.equal((await refresh(app, refreshed.refresh_token, { client_id: DEMO_CODE_CLIENT.clientId }, '')).body.error, 'invalid_grant');
    assert.equal(await grantRevocation(), 'logout');
    await page.getByRole('button', { name: CODE_FLOW_BUTTON }).waitFor();
  });

  it('should refuse a callback whose state does not match', async () => {
    const refusal = 'This sign-in response was not asked for by this page, so it was ignored. Sign in again.';
    // In a tab that started no sign-in: a forged callback.
    await page.goto(`${origin}/?code=x&state=wrong`);
    await page.getByRole('alert').filter({ hasText: refusal }).waitFor();
    assert.equal(page.url(), `${origin}/`, 'the parameters are gone from the address bar');

    // In a tab that did start one: another state than its own.
    await page.getByRole('button', { name: CODE_FLOW_BUTTON }).click();
    await page.waitForURL(url => url.pathname === '/login');
    assert.ok(await pendingState(page));
    await page.goto(`${origin}/?code=x&state=wrong&iss=${encodeURIComponent(origin)}`);
    await page.getByRole('alert').filter({ hasText: refusal }).waitFor();
    assert.equal(await pendingState(page), null, 'a state serves one response: the flow is over');

    assert.deepEqual(exchanges.filter(isTokenRequest), [], 'no token request was sent');
    assert.equal(await storedToken(page), null);
    assert.equal(await page.getByRole('button', { name: CODE_FLOW_BUTTON }).isEnabled(), true, 'one may sign in again');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'code-flow-state-mismatch.png'), fullPage: true });
  });

  it('should refuse a callback from another issuer (RFC 9207), even with its own state', async () => {
    await page.goto(origin);
    await page.getByRole('button', { name: CODE_FLOW_BUTTON }).click();
    await page.waitForURL(url => url.pathname === '/login');
    const state = await pendingState(page);
    assert.ok(state);
    await page.goto(`${origin}/?${new URLSearchParams({ code: 'x', state, iss: 'https://attacker.example' })}`);
    await page.getByRole('alert').filter({ hasText: 'This sign-in response does not come from this server, so it was ignored. Sign in again.' }).waitFor();
    assert.deepEqual(exchanges.filter(isTokenRequest), [], 'no token request was sent');
    assert.equal(await storedToken(page), null);
  });

  it('should show the error the authorization server sends back, and keep no token', async () => {
    await page.goto(origin);
    // The server refuses the request (a scope the client may not have) and sends the browser back with the error.
    await context.route(url => url.pathname === '/oauth/authorize', route => route.continue({ url: `${route.request().url()}&scope=nope` }));
    await page.getByRole('button', { name: CODE_FLOW_BUTTON }).click();
    const text = 'The authorization server did not sign you in: Invalid scope: Requested scope is invalid.';
    await page.getByRole('alert').filter({ hasText: text }).waitFor();
    assert.equal(page.url(), `${origin}/`);
    assert.deepEqual(exchanges.filter(isTokenRequest), []);
    assert.equal(await storedToken(page), null);
  });

  it('should sign out: revoke the login on the server, forget the token in every tab and show the form', async () => {
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    const token = await storedToken(page);
    assert.ok(token?.refresh_token);
    const secondTab = await context.newPage();
    await secondTab.goto(origin);
    await signedIn(secondTab, 'demo');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'You are signed out.' }).waitFor();
    await page.getByLabel('Username').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'username');

    await headersRecorded();
    const [ revoke ] = exchanges.filter(e => e.path === '/oauth/revoke');
    assert.equal(revoke.headers.authorization, DEMO_AUTH);
    assert.equal(revoke.headers.authorization?.startsWith('Bearer'), false);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(revoke.body ?? '')), { token: token.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(revoke.status, 200);
    assert.equal(await storedToken(page), null);

    // The other tab follows.
    await secondTab.getByRole('status').filter({ hasText: 'You were signed out in another tab.' }).waitFor();
    assert.equal(await secondTab.getByLabel('Username').isVisible(), true);

    // And the server no longer takes the old tokens.
    assert.equal(await apiStatus(token.access_token), 401);
    assert.equal((await refresh(app, token.refresh_token, {}, DEMO_AUTH)).body.error, 'invalid_grant');
    assert.equal(await grantRevocation(), 'logout');
  });

  it('should keep the login when the revocation cannot reach the server, and revoke on the next try', async () => {
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    const token = await storedToken(page);
    assert.ok(token?.refresh_token);
    let attempts = 0;
    await page.route('**/oauth/revoke', route => {
      attempts += 1;
      return route.abort('internetdisconnected');
    });

    await page.getByRole('button', { name: 'Sign out' }).click();
    const said = await outcome(page);
    assert.deepEqual(await storedToken(page), token, 'the token is kept: it is still live at the server');
    assert.equal(await page.getByRole('heading', { name: 'Signed in as demo' }).isVisible(), true, 'still signed in');
    assert.deepEqual(said, { message: 'Could not sign out: Cannot reach the server. Check your connection and try again.', status: '' });
    assert.equal(attempts, 3, 'tried three times, then gave up');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).isEnabled(), true);
    assert.equal(await apiStatus(token.access_token), 200);
    assert.equal(await grantRevocation(), null);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'logout-unreachable.png'), fullPage: true });
    // The page's own calls still work with the kept token.
    await page.getByRole('button', { name: 'Reload' }).click();
    await signedIn(page, 'demo');

    await page.unroute('**/oauth/revoke');
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.deepEqual(await outcome(page), { message: '', status: 'You are signed out.' });
    await page.getByLabel('Username').waitFor();
    assert.equal(await storedToken(page), null);
    assert.equal(await apiStatus(token.access_token), 401);
    assert.equal((await refresh(app, token.refresh_token, {}, DEMO_AUTH)).body.error, 'invalid_grant');
    assert.equal(await grantRevocation(), 'logout');
  });

  it('should sign out in one click when the revocation fails at first and then gets through, waiting as Retry-After asks', async () => {
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    const token = await storedToken(page);
    assert.ok(token?.refresh_token);
    const attempts: number[] = [];
    await page.route('**/oauth/revoke', route => {
      attempts.push(Date.now());
      if (attempts.length === 1) return route.abort('connectionreset');
      if (attempts.length === 2) {
        return route.fulfill({ status: 503, headers: { 'Retry-After': '1' }, contentType: 'application/json',
          body: '{"error":"temporarily_unavailable","error_description":"x"}' });
      }
      return route.continue();
    });

    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.deepEqual(await outcome(page), { message: '', status: 'You are signed out.' });
    assert.equal(attempts.length, 3);
    assert.ok(attempts[2] - attempts[1] >= 900, `Retry-After: 1 is honoured (waited ${attempts[2] - attempts[1]} ms)`);
    assert.equal(await storedToken(page), null);
    assert.equal((await refresh(app, token.refresh_token, {}, DEMO_AUTH)).body.error, 'invalid_grant');
    assert.equal(await grantRevocation(), 'logout');
  });

  it('should forget the token here, and say so, when the server refuses the revocation for good (invalid_client)', async () => {
    await page.goto(origin);
    await signIn(page, DEMO_USER.username, DEMO_USER.password);
    await signedIn(page, 'demo');
    let attempts = 0;
    await page.route('**/oauth/revoke', route => {
      attempts += 1;
      return route.fulfill({ status: 401, headers: { 'WWW-Authenticate': 'Basic realm="Service"' }, contentType: 'application/json',
        body: '{"error":"invalid_client","error_description":"Invalid client: client is invalid"}' });
    });

    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.deepEqual(await outcome(page), {
      message: 'Signed out on this device, but the server refused to end the login: ' +
        'The server does not accept this page\'s client. Check FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET.',
      status: '',
    });
    assert.equal(attempts, 1, 'a refusal is not retried');
    assert.equal(await storedToken(page), null);
    await page.getByLabel('Username').waitFor();
  });

  describe('Sign in with a code (SMS)', () => {
    let outbox: SmsOutbox;
    beforeEach(async () => {
      outbox = await SmsOutbox.open(app);
    });
    afterEach(async () => {
      await outbox.close();
    });

    async function askForCode(phone: string) {
      await page.getByLabel('Phone number').fill(phone);
      await page.getByRole('button', { name: 'Send me a code' }).click();
    }

    it('should ask for a code, then sign in with it, as the password grant with auth_type=sms', async () => {
      await page.goto(origin);
      await askForCode('+86 138 0000 0000');
      await page.getByRole('status').filter({ hasText: 'a code is on its way' }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'sms-code', 'focus goes to the code field');
      const code = await outbox.lastCode(DEMO_USER.phone);
      await page.getByLabel('Code', { exact: true }).fill(code);
      await page.getByRole('button', { name: 'Sign in with the code' }).click();
      await signedIn(page, 'demo');

      await headersRecorded();
      const [ send ] = exchanges.filter(e => e.path === '/api/sms/codes');
      assert.equal(send.status, 202);
      assert.equal(send.headers.authorization, DEMO_AUTH);
      assert.equal(send.body, 'phone=%2B86%20138%200000%200000');
      const [ login ] = exchanges.filter(isTokenRequest);
      assert.equal(login.path, '/api/user/token');
      assert.equal(login.headers.authorization, DEMO_AUTH);
      assert.deepEqual(Object.fromEntries(new URLSearchParams(login.body ?? '')),
        { username: '+86 138 0000 0000', password: code, grant_type: 'password', auth_type: 'sms' });
      assert.equal(login.status, 200);
      const token = await storedToken(page);
      assert.equal(token?.mode, 'password', 'refreshed and revoked as a password login');
      await page.screenshot({ path: path.join(SCREENSHOTS, 'signed-in-sms.png'), fullPage: true });
    });

    it('should say the same for an unknown number, and that a wrong code is wrong, keeping no token', async () => {
      await page.goto(origin);
      await askForCode('+8613900139000');
      const status = await page.getByRole('status').filter({ hasText: 'a code is on its way' }).textContent();
      assert.equal(status, 'If +8613900139000 belongs to an account, a code is on its way. It is valid for 5 minutes.');
      assert.deepEqual(await outbox.messages(), []);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'sms-code-asked.png'), fullPage: true });
      await page.getByLabel('Code', { exact: true }).fill('123456');
      await page.getByRole('button', { name: 'Sign in with the code' }).click();
      await page.getByRole('alert').filter({ hasText: 'This code is wrong, used or expired. Ask for a new one.' }).waitFor();
      assert.equal(await page.getByLabel('Code', { exact: true }).inputValue(), '', 'the wrong code is cleared');
      assert.equal(await storedToken(page), null);
    });

    it('should show the wait a second code must respect (429 Retry-After)', async () => {
      await page.goto(origin);
      await askForCode(DEMO_USER.phone);
      await page.getByRole('status').filter({ hasText: 'a code is on its way' }).waitFor();
      await page.getByRole('button', { name: 'Send me a code' }).click();
      await page.getByRole('alert').filter({ hasText: /^Too many attempts\. Try again in \d+ seconds\.$/ }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Send me a code' }).isDisabled(), true);
      assert.equal((await outbox.messages()).length, 1);
    });

    it('should not offer it when SMS login is off', async () => {
      mock(app.config.oauth.sms, 'sender', '');
      await page.goto(origin);
      await page.getByRole('button', { name: 'Sign in', exact: true, disabled: false }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Send me a code' }).count(), 0);
    });
  });
});
