import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'egg';
import { type LoginFailure, usernameHash } from '../core/audit';
import { basicCredentials, isVsChar } from '../oauth/clientAuth';
import { TooManyRequestsError } from '../oauth/errors';
import type { Attempt, Outcome } from '../core/throttle';
import type { User } from '../repository/UserRepository';

type LoginOutcome = { user: User } | { failure: LoginFailure; userId?: number };

function attemptOf(ctx: Context): Attempt & { secret?: string } {
  const body: Record<string, string> = ctx.request.body ?? {};
  const basic = basicCredentials(ctx.get('authorization'));
  return {
    ip: ctx.ip,
    clientId: basic ? basic.clientId : body.client_id,
    secret: basic ? basic.secret : body.client_secret,
    username: body.grant_type === 'password' ? body.username : undefined,
  };
}

/**
 * Around the token endpoint: counts the attempt before any password or secret is checked and
 * refuses it while throttled (429 + Retry-After), settles the count once the engine has answered
 * (failures stay counted, a right password clears the user's counters), writes the audit trail, and
 * makes every failed or throttled answer take at least `oauth.minFailureMs`, so that its timing tells
 * nothing (unknown user, wrong password, disabled user, bcrypt or argon2 hash, throttled).
 */
export default () => async function loginGuard(ctx: Context, next: () => Promise<void>) {
  const { app } = ctx;
  const started = Date.now();
  const attempt = attemptOf(ctx);
  const pad = () => sleep(Math.max(0, app.config.oauth.minFailureMs - (Date.now() - started)));

  // A grant without a password (refresh, client_credentials) from a client whose secret is already
  // proved guesses nothing: it skips the throttle's bookkeeping.
  const { secret, ...counted } = attempt;
  if (counted.username === undefined && isVsChar(counted.clientId) && isVsChar(secret)
    && await app.container.accounts.findVerifiedClient(counted.clientId, secret)) {
    await next();
    return;
  }

  const { retryAfter, reservation } = await app.loginThrottle.begin(counted);
  if (retryAfter > 0) {
    app.audit('throttled', { clientId: attempt.clientId, retryAfter });
    await pad();
    throw new TooManyRequestsError(retryAfter);
  }

  try {
    await next();
  } catch (err) {
    // Not an authentication failure: give the count back rather than leave it pending.
    if (reservation) await app.loginThrottle.settle(reservation, {});
    throw err;
  }

  const login: LoginOutcome | undefined = ctx.state.loginOutcome;
  const error: string | undefined = ctx.body?.error;
  const outcome: Outcome = {};
  if (ctx.status === 200 && login && 'user' in login) {
    outcome.userSucceeded = true;
    app.audit('login_success', { clientId: attempt.clientId, userId: login.user.id });
  } else if (error === 'invalid_grant' && login && 'failure' in login) {
    outcome.userFailed = true;
    app.audit('login_failure', {
      clientId: attempt.clientId,
      reason: login.failure,
      userId: login.userId ?? null,
      usernameHash: login.failure === 'unknown_user' && attempt.username ? usernameHash(attempt.username, app.config.keys) : undefined,
    });
  } else if (error === 'invalid_client') {
    outcome.clientFailed = true;
    app.audit('client_auth_failure', { clientId: attempt.clientId });
  }
  if (reservation) await app.loginThrottle.settle(reservation, outcome);
  if (outcome.userFailed || outcome.clientFailed) await pad();
};
