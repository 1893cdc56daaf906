import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'egg';
import { basicCredentials } from '../lib/clientAuth';
import { type LoginFailure, usernameHash } from '../lib/audit';
import type { LoginAttempt } from '../lib/throttle';
import type { User } from '../repository/UserRepository';

type LoginOutcome = { user: User } | { failure: LoginFailure; userId?: number };

function attemptOf(ctx: Context): LoginAttempt {
  const body: Record<string, string> = ctx.request.body ?? {};
  const basic = basicCredentials(ctx.get('authorization'));
  return {
    ip: ctx.ip,
    clientId: basic ? basic.clientId : body.client_id,
    username: body.grant_type === 'password' ? body.username : undefined,
  };
}

/**
 * Around the token endpoint: refuses throttled attempts (429 + Retry-After) before any password is
 * checked, counts failed user and client authentications, resets a user's counters on success,
 * writes the audit trail, and makes every failed or throttled answer take at least
 * `oauth.minFailureMs`, so that its timing tells nothing (unknown user, wrong password, disabled
 * user, bcrypt or argon2 hash, throttled).
 */
export default () => async function loginGuard(ctx: Context, next: () => Promise<void>) {
  const { app } = ctx;
  const started = Date.now();
  const attempt = attemptOf(ctx);
  const pad = () => sleep(Math.max(0, app.config.oauth.minFailureMs - (Date.now() - started)));

  const { retryAfter, userCounters } = await app.loginThrottle.check(attempt);
  if (retryAfter > 0) {
    app.audit('throttled', { clientId: attempt.clientId, retryAfter });
    await pad();
    ctx.status = 429;
    ctx.set({ 'Retry-After': String(retryAfter), 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    ctx.body = { error: 'too_many_requests', error_description: `Too many failed attempts: retry in ${retryAfter} seconds` };
    return;
  }

  await next();

  const outcome: LoginOutcome | undefined = ctx.state.loginOutcome;
  const error: string | undefined = ctx.body?.error;
  if (ctx.status === 200) {
    if (outcome && 'user' in outcome) {
      if (userCounters) await app.loginThrottle.recordSuccess(attempt);
      app.audit('login_success', { clientId: attempt.clientId, userId: outcome.user.id });
    }
  } else if (error === 'invalid_grant' && outcome && 'failure' in outcome) {
    await app.loginThrottle.recordUserFailure(attempt);
    app.audit('login_failure', {
      clientId: attempt.clientId,
      reason: outcome.failure,
      userId: outcome.userId ?? null,
      usernameHash: outcome.failure === 'unknown_user' && attempt.username ? usernameHash(attempt.username) : undefined,
    });
    await pad();
  } else if (error === 'invalid_client') {
    await app.loginThrottle.recordClientFailure(attempt);
    app.audit('client_auth_failure', { clientId: attempt.clientId });
    await pad();
  }
};
