/**
 * The page's side of OAuth: the two ways to sign in, refresh, logout (RFC 7009 revocation), and
 * apiFetch(), the request wrapper that puts the Bearer token on every other call and keeps it fresh.
 *
 * Two modes, remembered with the stored token, since refresh and logout must authenticate as the
 * client that got it:
 * - 'code': "Sign in with the authorization server", the authorization code flow with PKCE (RFC 6749
 *   §4.1, RFC 7636) as a public client: no secret, `client_id` in the body, /oauth/token.
 * - 'password': the original front end's password form, the password grant with the first-party
 *   client's Basic credentials, /api/user/token; also "Sign in with a code", the same grant with a
 *   code sent by SMS (`auth_type=sms`) asked for at /api/sms/codes by the same client.
 *
 * Tokens live in IndexedDB, shared by the tabs of this origin (see "Browser demo" in the README).
 * qs comes from this server as window.Qs (/vendor/qs/qs.js).
 */

/** The path the original front end posts its logins to (the same handler as /oauth/token). */
const TOKEN_PATH = '/api/user/token';
/** The code flow's token endpoint (RFC 6749 §3.2). */
const OAUTH_TOKEN_PATH = '/oauth/token';
const AUTHORIZE_PATH = '/oauth/authorize';
const REVOKE_PATH = '/oauth/revoke';
/** Where a login code by SMS is asked for (the password form's client authenticates). */
const SMS_CODES_PATH = '/api/sms/codes';
export const PASSWORD_MODE = 'password';
export const CODE_MODE = 'code';
/** The code flow under way in this tab: { verifier, state, clientId, redirectUri, issuer }, in sessionStorage. */
const CODE_FLOW_KEY = 'oauth2-demo.code-flow';
/** The parameters of an authorization response (RFC 6749 §4.1.2, §4.1.2.1, RFC 9207). */
const RESPONSE_PARAMETERS = [ 'code', 'state', 'iss', 'error', 'error_description', 'error_uri' ];
/** Logout's tries at the revocation, and the wait before the second (doubled for each one after). */
const REVOKE_ATTEMPTS = 3;
const REVOKE_BACKOFF_MS = 500;
/** The longest Retry-After that logout waits out; the user is waiting in front of the page. */
const REVOKE_MAX_WAIT_SECONDS = 5;
/** A revocation still unanswered by then counts as no answer: the lock must not be held forever. */
const REVOKE_TIMEOUT_MS = 10_000;
const CONFIG_PATH = '/frontend/config.json';
const REFRESH_LOCK = 'oauth2-demo.refresh';

/** A refused or failed request: HTTP status (0: no answer at all), OAuth error code and description. */
export class RequestError extends Error {
  constructor(status, code, description, retryAfter = null) {
    super(description || code || `HTTP ${status}`);
    this.name = 'RequestError';
    this.status = status;
    this.code = code;
    this.description = description;
    /** Seconds to wait before trying again (Retry-After), or null. */
    this.retryAfter = retryAfter;
    /** The sign-in mode whose client made a token or revocation request (PASSWORD_MODE, CODE_MODE), else null. */
    this.mode = null;
  }
}

/**
 * "Sign in with the authorization server" did not end in a token, before any token request or
 * instead of one. `reason`:
 * - 'state': an authorization response this tab did not ask for (no flow under way, or another
 *   state): a forged or replayed callback (RFC 6749 §10.12), never exchanged;
 * - 'issuer': `iss` is not this server's (RFC 9207 §2.4: a mix-up), never exchanged;
 * - 'refused': the authorization server answered with an error (RFC 6749 §4.1.2.1): `code`, `description`;
 * - 'insecure': no Web Crypto here (plain http on a host other than localhost): no PKCE possible;
 * - 'unavailable': the server configures no code-flow client.
 */
export class CodeFlowError extends Error {
  constructor(reason, code = '', description = '') {
    super(description || code || reason);
    this.name = 'CodeFlowError';
    this.reason = reason;
    this.code = code;
    this.description = description;
  }
}

/**
 * Logout that the server refused for good: the token is forgotten here, but the login may live on at
 * the server until it expires. `cause` is the server's RequestError.
 */
export class RevocationRefusedError extends Error {
  constructor(cause) {
    super(`The server refused the revocation: ${cause.message}`, { cause });
    this.name = 'RevocationRefusedError';
  }
}

/** The login is over (logged out, revoked, expired, or refreshed by a thief): sign in again. */
export class SessionEndedError extends Error {
  constructor() {
    super('The session has ended');
    this.name = 'SessionEndedError';
  }
}

// ---- stored token ------------------------------------------------------------------------------
// In IndexedDB, shared by the tabs of this origin. Not localStorage: the HTML standard leaves it
// unsynchronised between tabs that run in different processes, so a tab could read a refresh token
// that another tab has just spent. IndexedDB orders transactions: a read that starts after a write
// has completed sees it.

const DB_NAME = 'oauth2-demo';
const STORE = 'tokens';
const TOKEN_KEY = 'current';

let databasePromise = null;

function database() {
  databasePromise ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return databasePromise;
}

/** Runs one request on the token store in its own transaction; resolves once it has committed. */
async function inStore(mode, action) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = action(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = transaction.onabort = () => reject(transaction.error);
  });
}

/**
 * The stored token: { access_token, refresh_token, expires_in, issued_at (ms), mode, client_id (the
 * code flow's public client) }, or null. A token stored before modes existed is the password mode's.
 */
export async function storedToken() {
  const token = await inStore('readonly', store => store.get(TOKEN_KEY));
  return token && typeof token.access_token === 'string' ? token : null;
}

function storeToken(token) {
  return inStore('readwrite', store => store.put(token, TOKEN_KEY));
}

// Tells the other tabs of this origin when the user signs in or out.
const signInChannel = new BroadcastChannel('oauth2-demo.sign-in');

async function forgetToken() {
  await inStore('readwrite', store => store.delete(TOKEN_KEY));
  signInChannel.postMessage({ signedIn: false });
}

/** Calls back with true or false when another tab signs in or out. */
export function watchSignIn(callback) {
  signInChannel.addEventListener('message', event => callback(event.data?.signedIn === true));
}

/**
 * True when the access token should be refreshed before use: from its local issue time and
 * expires_in, a tenth of its lifetime early (at most a minute), for clock drift and request time.
 */
function refreshDue(token, now = Date.now()) {
  if (typeof token.expires_in !== 'number') return false;
  const lifetime = token.expires_in * 1000;
  return now >= token.issued_at + lifetime - Math.min(60_000, lifetime / 10);
}

// ---- HTTP --------------------------------------------------------------------------------------

/** fetch(), with "no answer" (offline, DNS, refused connection, CORS) as a RequestError of status 0. */
async function send(path, init) {
  try {
    return await fetch(path, { cache: 'no-store', ...init });
  } catch {
    throw new RequestError(0, 'network_error', 'The server could not be reached');
  }
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date; in seconds, or null. */
function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The RequestError for a response that is not 2xx; the body is { error, error_description } when JSON. */
async function failure(res, mode = null) {
  let body = {};
  try {
    body = await res.json();
  } catch {
    // A proxy's HTML error page, or no body.
  }
  const err = new RequestError(res.status, body.error || '', body.error_description || '',
    retryAfterSeconds(res.headers.get('Retry-After')));
  err.mode = mode;
  return err;
}

// ---- the client --------------------------------------------------------------------------------

let clientPromise = null;

/**
 * The page's clients from the server's configuration: { client_id, client_secret } of the password
 * form and { code_flow_client_id, issuer } of the code flow, each only when configured.
 */
export function loadClient() {
  if (!clientPromise) {
    clientPromise = send(CONFIG_PATH, {}).then(async res => {
      if (!res.ok) throw await failure(res);
      return res.json();
    });
    // A failure is not remembered: the next call asks again.
    clientPromise.catch(() => { clientPromise = null; });
  }
  return clientPromise;
}

/** RFC 6749 §2.3.1: client id and secret are form-encoded, then joined and base64-encoded. */
function formEncode(value) {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

async function clientAuthorization() {
  const { client_id: id, client_secret: secret } = await loadClient();
  return `Basic ${btoa(`${formEncode(id)}:${formEncode(secret)}`)}`;
}

/** The client that got this token, as the token and revocation calls must name it: { mode, clientId }. */
function clientOf(token) {
  return token.mode === CODE_MODE ? { mode: CODE_MODE, clientId: token.client_id } : { mode: PASSWORD_MODE };
}

/**
 * A form POST authenticated as the client: the token and revocation calls, never a Bearer. The password
 * mode's confidential client sends HTTP Basic; the code flow's public client has no secret and names
 * itself with `client_id` in the body (RFC 6749 §2.3.1, §3.2.1; RFC 7009 §2.1), with no Authorization.
 */
async function clientPost(path, params, client, signal = undefined) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  let body = params;
  if (client.mode === CODE_MODE) body = { ...params, client_id: client.clientId };
  else headers.Authorization = await clientAuthorization();
  return send(path, { method: 'POST', headers, body: window.Qs.stringify(body), signal });
}

/**
 * Asks the token endpoint of this client's mode; returns the token with its local issue time (before
 * the request left) and the mode (and public client) to refresh and revoke it with.
 */
async function requestToken(params, client) {
  const issuedAt = Date.now();
  const res = await clientPost(client.mode === CODE_MODE ? OAUTH_TOKEN_PATH : TOKEN_PATH, params, client);
  if (!res.ok) throw await failure(res, client.mode);
  const body = await res.json();
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token ?? null,
    expires_in: body.expires_in,
    issued_at: issuedAt,
    mode: client.mode,
    ...client.mode === CODE_MODE ? { client_id: client.clientId } : {},
  };
}

async function signedInWith(token) {
  await storeToken(token);
  signInChannel.postMessage({ signedIn: true });
  return token;
}

// ---- login, refresh, logout --------------------------------------------------------------------

/** The password grant, with the very body of the original front end. */
export async function login(username, password) {
  return signedInWith(await requestToken({ username, password, grant_type: 'password' }, { mode: PASSWORD_MODE }));
}

/**
 * Asks the server to send a login code to this phone number. The server answers the same whether the
 * number belongs to an account or not; resolves with the code's lifetime in seconds.
 */
export async function requestSmsCode(phone) {
  const res = await clientPost(SMS_CODES_PATH, { phone }, { mode: PASSWORD_MODE });
  if (!res.ok) throw await failure(res, PASSWORD_MODE);
  const body = await res.json();
  return body.expires_in;
}

/** The password grant with the code sent by SMS in place of the password (`auth_type=sms`, the Spring server's form). */
export async function loginWithSmsCode(phone, code) {
  return signedInWith(await requestToken({ username: phone, password: code, grant_type: 'password', auth_type: 'sms' }, { mode: PASSWORD_MODE }));
}

// ---- the code flow with PKCE -------------------------------------------------------------------

function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** 32 random bytes, base64url: a PKCE code verifier (RFC 7636 §4.1: 43 characters) or a state. */
function randomToken() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** RFC 7636 §4.2: BASE64URL(SHA-256(ASCII(code_verifier))). */
async function s256(verifier) {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** The redirect URI: this page itself, on the origin it is served from. */
function pageRedirectUri() {
  return `${location.origin}/`;
}

/**
 * "Sign in with the authorization server": makes a PKCE verifier and a state, keeps them in this
 * tab's sessionStorage, and leaves for the authorization endpoint, which comes back to this page with
 * `?code=…&state=…&iss=…` (see completeCodeFlow). Resolves as the browser starts to navigate away.
 */
export async function startCodeFlow() {
  const { code_flow_client_id: clientId, issuer } = await loadClient();
  if (!clientId) throw new CodeFlowError('unavailable');
  // Web Crypto exists in secure contexts only (https, http://localhost, http://127.0.0.1).
  if (!globalThis.crypto?.subtle) throw new CodeFlowError('insecure');
  const verifier = randomToken();
  const state = randomToken();
  const redirectUri = pageRedirectUri();
  const challenge = await s256(verifier);
  sessionStorage.setItem(CODE_FLOW_KEY, JSON.stringify({ verifier, state, clientId, redirectUri, issuer: issuer || location.origin }));
  location.assign(`${AUTHORIZE_PATH}?${window.Qs.stringify({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256',
  })}`);
}

/**
 * The authorization response in this page's URL (RFC 6749 §4.1.2), or null when there is none. Its
 * parameters are taken out of the address bar and of this history entry at once: the code must not
 * stay where it can be bookmarked, shared or sent on as a Referer.
 */
export function takeAuthorizationResponse() {
  const url = new URL(location.href);
  if (!url.searchParams.has('code') && !url.searchParams.has('error')) return null;
  const response = {};
  for (const name of RESPONSE_PARAMETERS) {
    const value = url.searchParams.get(name);
    if (value !== null) response[name] = value;
    url.searchParams.delete(name);
  }
  history.replaceState(history.state, '', url.href);
  return response;
}

/** The flow this tab started, taken out of sessionStorage (a state is good for one response), or null. */
function takeCodeFlow() {
  const saved = sessionStorage.getItem(CODE_FLOW_KEY);
  sessionStorage.removeItem(CODE_FLOW_KEY);
  try {
    return saved ? JSON.parse(saved) : null;
  } catch {
    return null;
  }
}

/**
 * Ends "Sign in with the authorization server": checks that the response answers the flow this tab
 * started (its state) and comes from this server (`iss`, RFC 9207), then exchanges the code at the
 * token endpoint with the verifier (RFC 7636 §4.5) and stores the token as the password login does.
 * Nothing is sent for a response that fails these checks: a CodeFlowError.
 */
export async function completeCodeFlow(response) {
  const flow = takeCodeFlow();
  if (!flow || typeof response.state !== 'string' || response.state !== flow.state) throw new CodeFlowError('state');
  if (response.iss !== undefined && response.iss !== flow.issuer) throw new CodeFlowError('issuer');
  if (response.error !== undefined) throw new CodeFlowError('refused', response.error, response.error_description);
  if (!response.code) throw new CodeFlowError('refused', 'invalid_request');
  return signedInWith(await requestToken(
    { grant_type: 'authorization_code', code: response.code, redirect_uri: flow.redirectUri, code_verifier: flow.verifier },
    { mode: CODE_MODE, clientId: flow.clientId },
  ));
}

/**
 * Runs fn while holding the refresh lock of this origin: one tab at a time refreshes or logs out.
 * Web Locks exist in secure contexts only (https, http://localhost, http://127.0.0.1); elsewhere
 * tabs are not coordinated (set OAUTH_REFRESH_GRACE_SECONDS on the server).
 */
function withRefreshLock(fn) {
  return navigator.locks ? navigator.locks.request(REFRESH_LOCK, fn) : fn();
}

let refreshing = null;

/**
 * A usable token in place of `stale`. A refresh token works once: presenting it again revokes the
 * whole login (RFC 9700 §4.14.2). So, in this tab, every caller shares one refresh in flight; across
 * tabs, refreshes take turns under a Web Lock, and the stored token is read again once the lock is
 * held, since another tab may have refreshed it meanwhile.
 */
function refreshToken(stale) {
  refreshing ??= withRefreshLock(async () => {
    const current = await storedToken();
    if (!current) throw new SessionEndedError();
    if (current.access_token !== stale.access_token) return current;
    if (!current.refresh_token) {
      await forgetToken();
      throw new SessionEndedError();
    }
    try {
      const next = await requestToken({ grant_type: 'refresh_token', refresh_token: current.refresh_token }, clientOf(current));
      await storeToken(next);
      return next;
    } catch (err) {
      // invalid_grant (revoked, expired, spent) or invalid_client: this login cannot be continued.
      // Anything else (429, 5xx, no network) is passing: keep the token, the next call tries again.
      if (err.status === 400 || err.status === 401) {
        await forgetToken();
        throw new SessionEndedError();
      }
      throw err;
    }
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function withBearer(init, token) {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token.access_token}`);
  return { ...init, headers };
}

/**
 * The request wrapper for the API: adds `Authorization: Bearer …`, refreshes the token before it
 * expires, and after a 401 refreshes and retries once. Returns the JSON body of a 2xx answer.
 */
export async function apiFetch(path, init = {}) {
  let token = await storedToken();
  if (!token) throw new SessionEndedError();
  if (refreshDue(token)) token = await refreshToken(token);
  let res = await send(path, withBearer(init, token));
  if (res.status === 401) {
    // Revoked, or expired sooner than computed locally (a changed clock): one refresh, one retry.
    token = await refreshToken(token);
    res = await send(path, withBearer(init, token));
    if (res.status === 401) {
      await forgetToken();
      throw new SessionEndedError();
    }
  }
  if (!res.ok) throw await failure(res);
  return res.json();
}

// ---- logout ------------------------------------------------------------------------------------

/**
 * True when the same revocation, sent again, may get through: no answer, 408, 429 or a server error.
 * RFC 7009 §2.2.1: after a 503 "the client must assume the token still exists and may retry after a
 * reasonable delay", which Retry-After may give. Any other 4xx is an RFC 6749 §5.2 refusal of the
 * request itself, which the same request would meet again.
 */
function transient(err) {
  return err instanceof RequestError && (err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500);
}

/** The wait before the revocation's next try (ms), or null when there should be none. */
function retryDelay(err, attempt) {
  if (attempt >= REVOKE_ATTEMPTS || !transient(err)) return null;
  if (err.retryAfter === null) return REVOKE_BACKOFF_MS * 2 ** (attempt - 1);
  // Waiting less than the server asked would only be refused again: give up now, the user retries.
  return err.retryAfter <= REVOKE_MAX_WAIT_SECONDS ? err.retryAfter * 1000 : null;
}

/**
 * Revokes the token at the server, trying again after a passing failure. Sending it twice is harmless:
 * a token already revoked gets 200 as well (RFC 7009 §2.2), so a try whose answer was lost may be
 * repeated. Throws the last RequestError.
 */
async function revoke(token) {
  const params = token.refresh_token
    ? { token: token.refresh_token, token_type_hint: 'refresh_token' }
    : { token: token.access_token, token_type_hint: 'access_token' };
  for (let attempt = 1; ; attempt += 1) {
    try {
      const client = clientOf(token);
      const res = await clientPost(REVOKE_PATH, params, client, AbortSignal.timeout(REVOKE_TIMEOUT_MS));
      if (res.ok) return;
      throw await failure(res, client.mode);
    } catch (err) {
      const delay = retryDelay(err, attempt);
      if (delay === null) throw err;
      await new Promise(resolve => setTimeout(resolve, delay));
    }
  }
}

/**
 * Logout: revokes the token on the server, then forgets it here and tells the other tabs. Revoking
 * the refresh token (else the access token) ends the whole login, in every tab. Under the refresh
 * lock, so that no refresh in another tab is half-way.
 *
 * The token is kept until the server has revoked it: forgotten first, a failed revocation would leave
 * the login live at the server while the user believes it over. So when the server cannot be reached
 * or cannot answer, even after a few tries, this throws that RequestError with the token still
 * stored: the user is still signed in, and calling logout() again tries again. When the server
 * refuses for good, this forgets the token and throws a RevocationRefusedError.
 */
export async function logout() {
  await withRefreshLock(async () => {
    const token = await storedToken();
    if (!token) return;
    try {
      await revoke(token);
    } catch (err) {
      if (!(err instanceof RequestError) || transient(err)) throw err;
      // Refused for good (RFC 7009 §2.2.1: an RFC 6749 §5.2 error): invalid_client (this page's client
      // is not accepted, so nothing it sends can revoke the token, nor refresh it), unauthorized_client
      // (the token is another client's), invalid_request, unsupported_token_type (only an access token
      // is held and the server revokes none: it expires on its own). No try can ever succeed, and a
      // kept token would make a logout button that never works: forget it, and let the page say so.
      // An unknown or already revoked token is no refusal: it gets 200 (§2.2).
      await forgetToken();
      throw new RevocationRefusedError(err);
    }
    await forgetToken();
  });
}
