import { randomBytes } from 'node:crypto';
import type { Context } from 'egg';
import type { User } from '../repository/UserRepository';

/** What the session cookie (egg's session: signed, encrypted, httpOnly) holds for a signed-in user. */
interface BrowserLogin {
  /** A new random id at every login, so that a session planted before the login is not the session after it. */
  sid: string;
  uid: number;
  /** When the user typed the password (ms since the epoch). */
  authTime: number;
  /** The last request of this session (ms), for the idle lifetime. */
  seenAt: number;
}

export interface SignedIn {
  user: User;
  authTime: Date;
}

function loginOf(ctx: Context): BrowserLogin | undefined {
  const login = ctx.session?.login as BrowserLogin | undefined;
  return login && typeof login.uid === 'number' ? login : undefined;
}

/**
 * The user signed in to this browser, or null: no session, a session past its idle or absolute
 * lifetime (config.oauth.session), or a user disabled or deleted since.
 */
export async function signedInUser(ctx: Context): Promise<SignedIn | null> {
  const login = loginOf(ctx);
  if (!login) return null;
  const { idleSeconds, absoluteSeconds } = ctx.app.config.oauth.session;
  const now = Date.now();
  if (now - login.seenAt > idleSeconds * 1000 || now - login.authTime > absoluteSeconds * 1000) {
    ctx.session = null;
    return null;
  }
  const user = await ctx.app.container.users.findUserById(login.uid);
  if (!user?.enabled) {
    ctx.session = null;
    return null;
  }
  ctx.session.login = { ...login, seenAt: now };
  return { user, authTime: new Date(login.authTime) };
}

/**
 * Starts a browser session for the user: a new session (nothing of the one before the login is
 * kept) and a new CSRF secret, so that neither can have been planted by an attacker (session fixation).
 */
export function startBrowserSession(ctx: Context, user: User): void {
  ctx.session = null;
  const now = Date.now();
  ctx.session = { login: { sid: randomBytes(16).toString('hex'), uid: user.id, authTime: now, seenAt: now } satisfies BrowserLogin };
  ctx.rotateCsrfSecret();
}

export function endBrowserSession(ctx: Context): void {
  ctx.session = null;
}

/**
 * A `return_to` that stays on this server: a path (not `//host`, not `/\host`), else `/`. An open
 * redirect would let anyone send users through our login page to a look-alike site.
 */
export function localPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  try {
    const base = 'http://local.invalid';
    const url = new URL(value, base);
    return url.origin === base ? `${url.pathname}${url.search}` : '/';
  } catch {
    return '/';
  }
}
