import { createHash, randomBytes } from 'node:crypto';
import type { MockApplication } from 'egg-mock';
import qs from 'qs';

/** What a browser keeps between requests: its cookies (egg's session, nothing else). */
export class CookieBrowser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly app: MockApplication) {}

  private remember<R extends { headers: Record<string, string | string[] | undefined> }>(res: R): R {
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [ setCookie ] : []) {
      const [ pair ] = line.split(';');
      const [ name, ...value ] = pair.split('=');
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value.join('=') === '') this.cookies.delete(name);
      else this.cookies.set(name, value.join('='));
    }
    return res;
  }

  private get cookieHeader(): string {
    return [ ...this.cookies ].map(([ name, value ]) => `${name}=${value}`).join('; ');
  }

  async get(path: string) {
    return this.remember(await this.app.httpRequest().get(path).set('Cookie', this.cookieHeader)
      .redirects(0));
  }

  async post(path: string, form: Record<string, string>) {
    return this.remember(await this.app.httpRequest().post(path).set('Cookie', this.cookieHeader)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(qs.stringify(form))
      .redirects(0));
  }

  /** Signs in on the login page as a person would: the form's CSRF token, then the credentials. */
  async signIn(username: string, password: string, returnTo = '/') {
    const form = await this.get(`/login?return_to=${encodeURIComponent(returnTo)}`);
    return this.post('/login', { _csrf: csrfOf(form.text), username, password, return_to: returnTo });
  }
}

/** The CSRF token of a page's form. */
export function csrfOf(page: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!match) throw new Error('no _csrf field on the page');
  return match[1];
}

/** RFC 7636 §4.1, §4.2: a verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The query parameters of a redirect's Location. */
export function redirectParams(location: string): URLSearchParams {
  return new URL(location, 'http://local.invalid').searchParams;
}
