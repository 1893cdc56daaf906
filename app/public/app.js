// The page: the login form, then the signed-in view. Everything it shows is written with
// textContent, never as HTML, and every server call goes through api.js.
import {
  apiFetch, loadClient, login, logout, RequestError, RevocationRefusedError, SessionEndedError, storedToken, watchSignIn,
} from './api.js';

const byId = id => document.getElementById(id);
const message = byId('message');
const status = byId('status');
const loginView = byId('login');
const form = byId('login-form');
const usernameInput = byId('username');
const passwordInput = byId('password');
const loginButton = byId('login-button');
const logoutButton = byId('logout-button');
const accountView = byId('account');
const accountHeading = byId('account-heading');
const usersSection = byId('users');

/** Until then (ms), the login button stays disabled: the server asked to wait (429 Retry-After). */
let waitUntil = 0;
let clientReady = false;

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

/** A sentence for the person in front of the page; never a stack trace. */
function explain(err) {
  if (err instanceof SessionEndedError) return 'Your session has ended. Please sign in again.';
  if (!(err instanceof RequestError)) return 'Something went wrong in this page. Reload it and try again.';
  if (err.status === 0) return 'Cannot reach the server. Check your connection and try again.';
  if (err.status === 429) {
    return err.retryAfter === null
      ? 'Too many attempts. Wait a moment before trying again.'
      : `Too many attempts. Try again in ${seconds(err.retryAfter)}.`;
  }
  if (err.status >= 500) return `The server could not answer (error ${err.status}). Try again in a moment.`;
  if (err.code === 'invalid_grant') return 'Wrong username or password.';
  if (err.code === 'invalid_client') {
    return 'The server does not accept this page\'s client. Check FRONTEND_CLIENT_ID and FRONTEND_CLIENT_SECRET.';
  }
  return err.description || `The request failed (error ${err.status}).`;
}

function updateLoginButton() {
  loginButton.disabled = !clientReady || form.getAttribute('aria-busy') === 'true' || Date.now() < waitUntil;
}

function markInvalid(invalid) {
  for (const input of [ usernameInput, passwordInput ]) {
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
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
      usernameInput.focus();
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
  usernameInput.focus();
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

async function start() {
  try {
    await loadClient();
    clientReady = true;
  } catch (err) {
    showError(err instanceof RequestError && err.status === 404
      ? 'This server has no browser client configured (FRONTEND_CLIENT_ID, FRONTEND_CLIENT_SECRET).'
      : explain(err));
  }
  if (await storedToken()) await showAccount();
  else showLogin();
}

start();
