/** An HTML fragment whose interpolated values are escaped. */
export class Html {
  constructor(readonly text: string) {}
}

function escape(value: unknown): string {
  return String(value).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

/** html`<p>${text}</p>`: every value is escaped, but a nested Html fragment or a list of them. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  const parts = values.map(value => {
    if (value instanceof Html) return value.text;
    if (Array.isArray(value)) return value.map(item => (item instanceof Html ? item.text : escape(item))).join('');
    return escape(value ?? '');
  });
  return new Html(strings.reduce((out, s, i) => out + s + (i < parts.length ? parts[i] : ''), ''));
}

/** The page frame of the server's own pages: the demo's stylesheet, no script (they work without one). */
function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} — OAuth2 server</title>
  <link rel="stylesheet" href="/public/app.css">
</head>
<body>
  <main class="card">
    <header><h1>OAuth2 server</h1></header>
    ${body}
  </main>
</body>
</html>
`.text;
}

export interface LoginPage {
  csrf: string;
  returnTo: string;
  username?: string;
  message?: string;
}

export function loginPage({ csrf, returnTo, username = '', message }: LoginPage): string {
  return page('Sign in', html`
    <section aria-labelledby="login-heading">
      <h2 id="login-heading">Sign in</h2>
      ${message ? html`<p class="message" role="alert">${message}</p>` : ''}
      <form method="post" action="/login">
        <input type="hidden" name="_csrf" value="${csrf}">
        <input type="hidden" name="return_to" value="${returnTo}">
        <label for="username">Username</label>
        <input id="username" name="username" value="${username}" autocomplete="username" autocapitalize="none" spellcheck="false" required>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
      </form>
    </section>`);
}

export interface ConsentPage {
  csrf: string;
  clientId: string;
  username: string;
  scope: string[];
  /** The authorization request's parameters, sent again with the decision. */
  params: Record<string, string>;
}

export function consentPage({ csrf, clientId, username, scope, params }: ConsentPage): string {
  const hidden = Object.entries(params).map(([ name, value ]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return page('Allow access', html`
    <section aria-labelledby="consent-heading">
      <h2 id="consent-heading">Allow ${clientId} to access your account?</h2>
      <p class="status">Signed in as ${username}.</p>
      ${scope.length > 0 ? html`<p>It asks for:</p><ul>${scope.map(s => html`<li>${s}</li>`)}</ul>` : html`<p>It asks for no particular scope.</p>`}
      <form method="post" action="/oauth/authorize">
        <input type="hidden" name="_csrf" value="${csrf}">
        ${hidden}
        <button type="submit" name="decision" value="approve">Allow</button>
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
      </form>
    </section>`);
}

export function errorPage(title: string, description: string): string {
  return page(title, html`
    <section aria-labelledby="error-heading">
      <h2 id="error-heading">${title}</h2>
      <p class="message" role="alert">${description}</p>
    </section>`);
}
