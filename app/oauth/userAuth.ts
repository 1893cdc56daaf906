import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'egg';
import { usernameHash } from '../core/audit';
import type { LoginResult } from '../core/credentials';
import type { User } from '../repository/UserRepository';
import { TooManyRequestsError } from './errors';

/**
 * Waits until `oauth.minFailureMs` have passed since `started`: every failed or throttled credential
 * check takes at least that long, so that its timing tells nothing (unknown user, wrong password,
 * disabled user, bcrypt or argon2 hash, throttled). The token endpoint and the login page alike.
 */
export async function failureFloor(ctx: Context, started: number): Promise<void> {
  await sleep(Math.max(0, ctx.app.config.oauth.minFailureMs - (Date.now() - started)));
}

/** How a login proves itself: a password, or a one-time code sent by SMS. */
export type LoginMethod = 'password' | 'sms';

/**
 * The password grant's user check (RFC 6749 §4.3.2), throttled (RFC 6819 §4.4.3.6): the attempt is
 * counted before the password or code is checked and refused while its keys are blocked (429), then
 * settled (a failure stays counted; a success clears the user-and-address counter and trusts the
 * address), and written to the audit log. `identifier` is a username, e-mail address or phone number
 * (a phone number only, for an SMS code); the attempt counts against the account it names, whatever
 * the spelling, or against the identifier when it names none. Unknown user, wrong password or code
 * and disabled user give the caller the same null.
 */
export async function authenticateUser(ctx: Context, identifier: string, secret: string, method: LoginMethod = 'password'): Promise<User | null> {
  const { app } = ctx;
  const clientId: string | undefined = ctx.state.client?.clientId;
  const { credentials } = app.container;
  const candidate = await credentials.findLogin(identifier, { phoneOnly: method === 'sms' });
  const { retryAfter, reservation } = await app.loginThrottle.begin({ ip: ctx.ip, username: candidate.subject });
  if (retryAfter > 0) {
    app.audit('throttled', { clientId, retryAfter });
    throw new TooManyRequestsError(retryAfter);
  }
  let result: LoginResult;
  try {
    result = method === 'sms' ? await app.smsCodes.verify(candidate, secret) : await credentials.verifyPassword(candidate, secret);
  } catch (err) {
    // Not a failed guess: the count goes back (or expires, should the database be gone).
    if (reservation) await app.loginThrottle.settle(reservation, {}).catch(() => undefined);
    throw err;
  }
  const succeeded = 'user' in result;
  if (reservation) await app.loginThrottle.settle(reservation, succeeded ? { userSucceeded: true } : { userFailed: true });
  const authType = method === 'sms' ? 'sms' : undefined;
  if ('user' in result) {
    app.audit('login_success', { clientId, userId: result.user.id, authType });
    return result.user;
  }
  app.audit('login_failure', {
    clientId,
    reason: result.failure,
    authType,
    userId: result.userId ?? null,
    usernameHash: result.failure === 'unknown_user' ? usernameHash(candidate.subject, app.config.keys) : undefined,
  });
  return null;
}
