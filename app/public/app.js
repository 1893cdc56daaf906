// The page: the ways to sign in ("Sign in with the authorization server", the code flow with PKCE;
// the original front end's password form; "Sign in with a code" sent by SMS), then the signed-in view. Everything it shows is
// written with textContent, never as HTML, and every server call goes through api.js.
import {
  apiFetch, CODE_MODE, CodeFlowError, completeCodeFlow, loadClient, login, loginWithSmsCode, logout, RequestError,
  requestSmsCode, RevocationRefusedError, SessionEndedError, startCodeFlow, storedToken, takeAuthorizationResponse, watchSignIn,
} from './api.js';

const byId = id => document.getElementById(id);
const message = byId('message');
const status = byId('status');
const loginView = byId('login');
const form = byId('login-form');
const usernameInput = byId('username');
const passwordInput = byId('password');
const loginButton = byId('login-button');
const codeFlowButton = byId('code-flow-button');
const codeFlowChoice = byId('code-flow');
const loginDivider = byId('login-divider');
const logoutButton = byId('logout-button');
const accountView = byId('account');
const accountHeading = byId('account-heading');
const usersSection = byId('users');
const smsSection = byId('sms-login');
const smsForm = byId('sms-form');
const smsPhoneInput = byId('sms-phone');
const smsSendButton = byId('sms-send-button');
const smsCodeStep = byId('sms-code-step');
const smsCodeInput = byId('sms-code');
const smsLoginButton = byId('sms-login-button');

/** Until then (ms), the login button stays disabled: the server asked to wait (429 Retry-After). */
let waitUntil = 0;
/** The server configures a client for the password form, and one for the code flow. */
let clientReady = false;
let codeFlowReady = false;
/** Leaving for the authorization server. */
let codeFlowStarting = false;
/** The server sends login codes by SMS to the password form's client. */
let smsReady = false;
/** Until then (ms), no new code may be asked for (429 Retry-After). */
let smsWaitUntil = 0;

function showError(text) {
  status.textContent = '';
  message.textContent = text;
}

function showStatus(text) {
  message.textContent = '';
  status.textContent = text;
}

function clearMessages() {
  message.textContent = '';
  status.textContent = '';
}

function seconds(n) {
  return n === 1 ? '1 second' : `${n} seconds`;
}

/** A sentence for a sign-in with the authorization server that ended without a token. */
function explainCodeFlow(err) {
  switch (err.reason) {
    case 'state':
      return 'This sign-in response was not asked for by this page, so it was ignored. Sign in again.';
    case 'issuer':
      return 'This sign-in response does not come from this server, so it was ignored. Sign in again.';
    case 'insecure':
      return 'Signing in with the authorization server needs a secure page (https, or http://localhost).';
    case 'unavailable':
      return 'This server has no client configured for signing in with the authorization server (FRONTEND_CODE_CLIENT_ID).';
    default:
      if (err.code === 'access_denied') return 'The sign-in with the authorization server was cancelled.';
      return `The authorization server did not sign you in: ${(err.description || err.code).replace(/\.$/, '')}.`;
  }
}

/** A sentence for the person in front of the page; never a stack trace. */
function explain(err) {
  if (err instanceof SessionEndedError) return 'Your session has ended. Please sign in again.';
  if (err instanceof CodeFlowError) return explainCodeFlow(err);
  if (!(err instanceof RequestError)) return 'Something went wrong in this page. Reload it and try again.';
  if (err.status === 0) return 'Cannot reach the server. Check your connection and try again.';
  if (err.status === 429) {
    return err.retryAfter === null
      ? 'Too many attempts. Wait a moment before trying again.'
      : `Too many attempts. Try again in ${seconds(err.retryAfter)}.`;
  }
  if (err.status >= 500) return `The server could not answer (error ${err.status}). Try again in a moment.`;
  if (err.code === 'invalid_grant' && err.mode === CODE_MODE) {
    return 'The sign-in with the authorization server could not be completed (its code was refused or has expired). Sign in again.';
  }
  if (err.code === 'invalid_grant') return 'Wrong username or password.';
  if (err.code === 'invalid_client' && err.mode === CODE_MODE) {
    return 'The server does not accept this page\'s client. Check FRONTEND_CODE_CLIENT_ID.';
  }
  if (err.code === 'invalid_client') {
    return 'The server does not accept this page\'s client. Check FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET.';
  }
  return err.description || `The request failed (error ${err.status}).`;
}

function updateLoginButton() {
  loginButton.disabled = !clientReady || form.getAttribute('aria-busy') === 'true' || Date.now() < waitUntil;
  codeFlowButton.disabled = !codeFlowReady || codeFlowStarting;
  const smsBusy = smsForm.getAttribute('aria-busy') === 'true';
  smsSendButton.disabled = !smsReady || smsBusy || Date.now() < smsWaitUntil;
  smsLoginButton.disabled = !smsReady || smsBusy;
}

/** A sentence for a failed request of "Sign in with a code". */
function explainSms(err) {
  if (err instanceof RequestError && err.code === 'invalid_grant') return 'This code is wrong, used or expired. Ask for a new one.';
  if (err instanceof RequestError && err.code === 'temporarily_unavailable') return 'The code could not be sent. Try again in a moment.';
  if (err instanceof RequestError && err.code === 'invalid_request' && err.status === 400) return 'This is not a phone number. Write it with its country code, e.g. +86 138 0013 8000.';
  return explain(err);
}

function markInvalid(invalid) {
  for (const input of [ usernameInput, passwordInput ]) {
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

/** Focus to the first way to sign in that is offered. */
function focusSignIn() {
  (form.hidden ? codeFlowButton : usernameInput).focus();
}

function showLogin() {
  accountView.hidden = true;
  loginView.hidden = false;
  usersSection.hidden = true;
  byId('users-body').replaceChildren();
  updateLoginButton();
}

function fillAccount(user) {
  byId('account-name').textContent = user.username;
  const values = {
    id: String(user.id),
    email: user.email || '—',
    phone: user.phone || '—',
    roles: user.roles.length > 0 ? user.roles.join(', ') : 'none',
    createdAt: new Date(user.createdAt).toLocaleDateString(),
  };
  for (const cell of accountView.querySelectorAll('[data-field]')) cell.textContent = values[cell.dataset.field];
}

function fillUsers(users) {
  const rows = users.map(user => {
    const row = document.createElement('tr');
    for (const value of [ user.username, user.email || '—', user.roles.join(', ') || '—', user.enabled ? 'yes' : 'no',
      new Date(user.createdAt).toLocaleDateString() ]) {
      const cell = document.createElement('td');
      cell.textContent = value;
      row.append(cell);
    }
    return row;
  });
  byId('users-body').replaceChildren(...rows);
}

/** Loads and shows the signed-in view: the current user and, for an admin, the user list. */
async function showAccount({ focus = false } = {}) {
  loginView.hidden = true;
  accountView.hidden = false;
  accountView.setAttribute('aria-busy', 'true');
  try {
    const user = await apiFetch('/api/currentUser');
    fillAccount(user);
    const isAdmin = user.roles.includes('admin');
    if (isAdmin) fillUsers(await apiFetch('/api/getUser'));
    usersSection.hidden = !isAdmin;
    if (focus) accountHeading.focus();
  } catch (err) {
    showError(explain(err));
    if (err instanceof SessionEndedError) {
      showLogin();
      focusSignIn();
    }
  } finally {
    accountView.removeAttribute('aria-busy');
  }
}

form.addEventListener('submit', async event => {
  event.preventDefault();
  clearMessages();
  markInvalid(false);
  const username = usernameInput.value.trim();
  const password = passwordInput.value;
  if (!username || !password) {
    showError('Enter your username and your password.');
    (username ? passwordInput : usernameInput).focus();
    return;
  }
  form.setAttribute('aria-busy', 'true');
  updateLoginButton();
  try {
    await login(username, password);
    form.reset();
    await showAccount({ focus: true });
  } catch (err) {
    showError(explain(err));
    if (err instanceof RequestError && err.code === 'invalid_grant') {
      markInvalid(true);
      passwordInput.value = '';
      passwordInput.focus();
    }
    if (err instanceof RequestError && err.status === 429 && err.retryAfter) {
      waitUntil = Date.now() + err.retryAfter * 1000;
      setTimeout(updateLoginButton, err.retryAfter * 1000);
    }
  } finally {
    form.removeAttribute('aria-busy');
    updateLoginButton();
  }
});

for (const input of [ usernameInput, passwordInput ]) input.addEventListener('input', () => markInvalid(false));

/** Runs one request of "Sign in with a code", its buttons disabled meanwhile. */
async function smsBusy(action) {
  smsForm.setAttribute('aria-busy', 'true');
  updateLoginButton();
  try {
    await action();
  } finally {
    smsForm.removeAttribute('aria-busy');
    updateLoginButton();
  }
}

/** Asks for a code to the phone number typed, then offers the field to type it into. */
const sendSmsCode = () => smsBusy(async () => {
  clearMessages();
  const phone = smsPhoneInput.value.trim();
  if (!phone) {
    showError('Enter your phone number.');
    smsPhoneInput.focus();
    return;
  }
  try {
    const lifetime = await requestSmsCode(phone);
    // The server says the same for every number: so does the page.
    showStatus(`If ${phone} belongs to an account, a code is on its way. It is valid for ${Math.round(lifetime / 60)} minutes.`);
    smsCodeStep.hidden = false;
    smsCodeInput.focus();
  } catch (err) {
    showError(explainSms(err));
    if (err instanceof RequestError && err.status === 429 && err.retryAfter) {
      smsWaitUntil = Date.now() + err.retryAfter * 1000;
      setTimeout(updateLoginButton, err.retryAfter * 1000);
    }
  }
});

smsSendButton.addEventListener('click', sendSmsCode);

smsForm.addEventListener('submit', event => {
  event.preventDefault();
  // Enter in the phone field before any code was asked for: ask for one.
  if (smsCodeStep.hidden) {
    if (!smsSendButton.disabled) sendSmsCode();
    return;
  }
  smsBusy(async () => {
    clearMessages();
    const phone = smsPhoneInput.value.trim();
    const code = smsCodeInput.value.trim();
    if (!phone || !code) {
      showError(phone ? 'Enter the code you received.' : 'Enter your phone number.');
      (phone ? smsCodeInput : smsPhoneInput).focus();
      return;
    }
    try {
      await loginWithSmsCode(phone, code);
      smsForm.reset();
      smsCodeStep.hidden = true;
      await showAccount({ focus: true });
    } catch (err) {
      showError(explainSms(err));
      smsCodeInput.value = '';
      smsCodeInput.focus();
    }
  });
});

codeFlowButton.addEventListener('click', async () => {
  clearMessages();
  codeFlowStarting = true;
  updateLoginButton();
  try {
    // On its way to the authorization server: the button stays disabled until the page is left.
    await startCodeFlow();
  } catch (err) {
    showError(explain(err));
    codeFlowStarting = false;
    updateLoginButton();
  }
});

// Back from the authorization server's pages to this one, restored as it was left (back/forward cache).
window.addEventListener('pageshow', event => {
  if (!event.persisted) return;
  codeFlowStarting = false;
  updateLoginButton();
});

byId('reload-button').addEventListener('click', () => {
  clearMessages();
  showAccount();
});

logoutButton.addEventListener('click', async () => {
  clearMessages();
  // Its retries may take a few seconds: one logout at a time.
  logoutButton.disabled = true;
  try {
    await logout();
    showStatus('You are signed out.');
  } catch (err) {
    if (!(err instanceof RevocationRefusedError)) {
      // The token is kept, so the user is still signed in: saying otherwise would be a lie.
      showError(`Could not sign out: ${explain(err)}`);
      return;
    }
    showError(`Signed out on this device, but the server refused to end the login: ${explain(err.cause)}`);
  } finally {
    logoutButton.disabled = false;
  }
  showLogin();
  focusSignIn();
});

// Another tab signed in or out.
watchSignIn(signedIn => {
  if (signedIn && accountView.hidden) {
    clearMessages();
    showAccount();
  } else if (!signedIn && !accountView.hidden) {
    showStatus('You were signed out in another tab.');
    showLogin();
  }
});

/**
 * Back from the authorization server with `?code=…` or `?error=…`: checks it, exchanges the code and
 * shows the signed-in view, or says why not and shows the sign-in choices.
 */
async function finishCodeFlow(response) {
  try {
    await completeCodeFlow(response);
  } catch (err) {
    showError(explain(err));
    // Signed in meanwhile (in another tab), or not.
    if (await storedToken()) {
      await showAccount();
    } else {
      showLogin();
      codeFlowButton.focus();
    }
    return;
  }
  await showAccount({ focus: true });
}

/** Offers the ways to sign in that the server configures a client for (both, disabled, when unknown). */
function offerSignIn(config) {
  clientReady = Boolean(config.client_id);
  codeFlowReady = Boolean(config.code_flow_client_id);
  smsReady = clientReady && config.sms_login === true;
  smsSection.hidden = !smsReady;
  form.hidden = !clientReady;
  codeFlowChoice.hidden = !codeFlowReady;
  loginDivider.hidden = !clientReady || !codeFlowReady;
}

async function start() {
  // First of all, out of the address bar: the code of an authorization response.
  const response = takeAuthorizationResponse();
  try {
    offerSignIn(await loadClient());
  } catch (err) {
    showError(err instanceof RequestError && err.status === 404
      ? 'This server has no browser client configured (FRONTEND_CODE_CLIENT_ID, or FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET).'
      : explain(err));
  }
  if (response) await finishCodeFlow(response);
  else if (await storedToken()) await showAccount();
  else showLogin();
}

start();
