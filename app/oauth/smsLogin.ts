import { setTimeout as sleep } from 'node:timers/promises';
import type { Application, Context } from 'egg';
import { InvalidRequestError, UnauthorizedClientError } from 'oauth2-server';
import { usernameHash } from '../core/audit';
import { MAX_PHONE_LENGTH, parsePhone, phoneRegion } from '../core/identifiers';
import { NotEnabledError, TemporarilyUnavailableError, TooManyRequestsError } from './errors';
import { formParameters } from './params';

/**
 * Refuses, at start-up, settings the first SMS request would trip over: a sender that cannot be built,
 * a message without its code, an unknown default region.
 */
export function checkSmsSettings(app: Application): void {
  phoneRegion(app.config.oauth.phoneRegion);
  if (!app.smsSender) return;
  if (!app.config.oauth.sms.text.includes('{code}')) throw new Error('SMS_TEXT must contain {code}, where the code goes');
}

/** The message of a code: `{code}` and `{minutes}` of the SMS_TEXT setting filled in. */
export function smsText(template: string, code: string, ttlSeconds: number): string {
  return template.replace(/\{code\}/g, code).replace(/\{minutes\}/g, String(Math.round(ttlSeconds / 60)));
}

/**
 * POST /api/sms/codes, after client authentication: sends a login code to the `phone` of
 * the form body when it is the number of an enabled user, and answers the same 202, in at least
 * `oauth.sms.minResponseMs`, whether it is or not. The send limits count every request by the number
 * asked for, registered or not (429 with Retry-After). A code whose message could not be handed to the
 * sender is taken back before the 503: it never counts as sent. Only a client that may use the
 * password grant, by which codes log in, may ask for one.
 */
export async function sendLoginCode(ctx: Context): Promise<{ expiresIn: number }> {
  const started = Date.now();
  const { app } = ctx;
  const { sms } = app.config.oauth;
  const sender = app.smsSender;
  if (!sender) throw new NotEnabledError('SMS login is not enabled on this server (SMS_SENDER)');
  const client = ctx.state.client;
  if (!client?.grants.includes('password')) {
    throw new UnauthorizedClientError('Unauthorized client: SMS codes log in by the password grant, which this client may not use');
  }
  const typed = formParameters(ctx).phone;
  if (!typed) throw new InvalidRequestError('Missing parameter: `phone`');
  if (typed.length > MAX_PHONE_LENGTH) throw new InvalidRequestError(`Invalid parameter: \`phone\` is longer than ${MAX_PHONE_LENGTH} characters`);
  const phone = parsePhone(typed, phoneRegion(app.config.oauth.phoneRegion));
  if (!phone) throw new InvalidRequestError('Invalid parameter: `phone` is not a phone number (+<country code><number>)');

  const { retryAfter } = await app.smsLimiter.consume({ phone, ip: ctx.ip });
  if (retryAfter > 0) {
    app.audit('throttled', { clientId: client.clientId, retryAfter });
    throw new TooManyRequestsError(retryAfter, 'codes asked for');
  }

  const user = await app.container.users.findUserByPhone(phone);
  if (!user?.enabled) {
    app.audit('sms_code_not_sent', {
      clientId: client.clientId,
      reason: user ? 'disabled_user' : 'unknown_phone',
      userId: user?.id,
      phoneHash: user ? undefined : usernameHash(phone, app.config.keys),
    });
  } else {
    const code = await app.smsCodes.issue(phone, user.id);
    try {
      await sender.send(phone, smsText(sms.text, code, sms.codeTtlSeconds));
    } catch (err) {
      // Should the database be gone too, the code expires unsent: nobody knows it.
      await app.smsCodes.withdraw(phone, code).catch(() => undefined);
      throw new TemporarilyUnavailableError('The code could not be sent: try again later', err);
    }
    app.audit('sms_code_sent', { clientId: client.clientId, userId: user.id });
  }
  await sleep(Math.max(0, sms.minResponseMs - (Date.now() - started)));
  return { expiresIn: sms.codeTtlSeconds };
}
