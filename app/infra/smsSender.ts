import { createHmac } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';

/** Sends one text message; rejects when it could not be handed over (the code then counts as not sent). */
export interface SmsSender {
  send(to: string, text: string): Promise<void>;
}

export interface SmsSenderOptions {
  /** Writes the log sender's lines (the app's logger). */
  log: (message: string) => void;
  /** The webhook sender's HMAC key (SMS_WEBHOOK_SECRET). */
  webhookSecret: string;
  /** How long the webhook sender waits for the gateway's answer. */
  webhookTimeoutMs: number;
}

/** What SMS_SENDER names: `log`, `file:<path>` or `webhook:<url>`. */
export type SenderSpec = { kind: 'log' } | { kind: 'file'; path: string } | { kind: 'webhook'; url: URL };

/** A loopback host: the only place a webhook may be plain http (a gateway on the same machine, tests). */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** Reads SMS_SENDER; throws, saying why, on anything else than the three kinds. */
export function parseSenderSpec(spec: string): SenderSpec {
  if (spec === 'log') return { kind: 'log' };
  if (spec.startsWith('file:')) {
    const file = spec.slice('file:'.length);
    if (!file) throw new Error('SMS_SENDER file:<path> needs a path');
    return { kind: 'file', path: path.resolve(file) };
  }
  if (spec.startsWith('webhook:')) {
    let url: URL;
    try {
      url = new URL(spec.slice('webhook:'.length));
    } catch {
      throw new Error('SMS_SENDER webhook:<url> needs an absolute URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new Error('SMS_SENDER webhook:<url> must be https (plain http only to a loopback host)');
    }
    return { kind: 'webhook', url };
  }
  throw new Error(`SMS_SENDER must be log, file:<path> or webhook:<url>, not ${JSON.stringify(spec)}`);
}

/** For development only: the message goes to the app's log (`log` is refused in production). */
class LogSender implements SmsSender {
  constructor(private readonly log: (message: string) => void) {}

  async send(to: string, text: string): Promise<void> {
    this.log(`[sms] to ${to}: ${text}`);
  }
}

/** For tests and staging: one JSON line `{"to","text"}` per message, appended to a file. */
class FileSender implements SmsSender {
  constructor(private readonly file: string) {}

  async send(to: string, text: string): Promise<void> {
    await appendFile(this.file, `${JSON.stringify({ to, text })}\n`, { encoding: 'utf8', mode: 0o600 });
  }
}

/**
 * For a real SMS gateway: POSTs JSON `{to, text}` to the URL, signed with `X-Signature: sha256=<hex
 * HMAC-SHA-256 of the body under SMS_WEBHOOK_SECRET>` so that the gateway can tell the request is
 * ours. Any answer but 2xx, and no answer within the timeout, is a failure.
 */
class WebhookSender implements SmsSender {
  constructor(private readonly url: URL, private readonly secret: string, private readonly timeoutMs: number) {}

  async send(to: string, text: string): Promise<void> {
    const body = JSON.stringify({ to, text });
    const signature = createHmac('sha256', this.secret).update(body, 'utf8').digest('hex');
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Signature': `sha256=${signature}` },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // The body is not needed; reading it frees the connection.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`SMS webhook answered HTTP ${res.status}`);
  }
}

export function createSmsSender(spec: SenderSpec, options: SmsSenderOptions): SmsSender {
  switch (spec.kind) {
    case 'log':
      return new LogSender(options.log);
    case 'file':
      return new FileSender(spec.path);
    case 'webhook':
      if (!options.webhookSecret) throw new Error('SMS_SENDER webhook:<url> needs SMS_WEBHOOK_SECRET (its signature key)');
      return new WebhookSender(spec.url, options.webhookSecret, options.webhookTimeoutMs);
    default:
      throw new Error('unknown SMS sender');
  }
}
