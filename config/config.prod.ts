import type { EggAppConfig, PowerPartial } from 'egg';
import { parseSenderSpec } from '../app/infra/smsSender';

/**
 * SMS login in production is off unless SMS_SENDER names a sender, and then needs its own code key
 * (derived keys are for development) and a real sender: `log` would write every code into the log.
 */
function checkSmsSettings(env: NodeJS.ProcessEnv): void {
  if (!env.SMS_SENDER) return;
  const sender = parseSenderSpec(env.SMS_SENDER);
  if (sender.kind === 'log') {
    throw new Error('SMS_SENDER=log is for development only: in production use file:<path> or webhook:<https-url>');
  }
  if (!env.SMS_CODE_KEY) {
    throw new Error('SMS_CODE_KEY must be set in production when SMS_SENDER is (a long random string: the HMAC key of stored codes)');
  }
  if (sender.kind === 'webhook' && !env.SMS_WEBHOOK_SECRET) {
    throw new Error('SMS_WEBHOOK_SECRET must be set for SMS_SENDER=webhook:<url> (the key of its X-Signature)');
  }
}

export default () => {
  if (!process.env.APP_KEYS) {
    throw new Error('APP_KEYS must be set in production (comma-separated random strings that sign cookies)');
  }
  checkSmsSettings(process.env);
  const config: PowerPartial<EggAppConfig> = {
    keys: process.env.APP_KEYS,
    // Behind TLS only (set TRUST_PROXY=1 behind a load balancer that terminates it).
    session: { secure: true },
  };
  return config;
};
