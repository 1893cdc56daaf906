import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MockApplication } from 'egg-mock';
import { mock } from 'egg-mock/bootstrap';

export interface SentSms {
  to: string;
  text: string;
}

/** The `file:` SMS sender's file, for a test to read what was sent (one JSON line per message). */
export class SmsOutbox {
  private constructor(readonly dir: string, readonly file: string) {}

  /** Points the app's SMS sender at a new, empty outbox (until mock.restore()). */
  static async open(app: MockApplication): Promise<SmsOutbox> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sms-outbox-'));
    const outbox = new SmsOutbox(dir, path.join(dir, 'sms.jsonl'));
    mock(app.config.oauth.sms, 'sender', `file:${outbox.file}`);
    return outbox;
  }

  async messages(): Promise<SentSms[]> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(line => JSON.parse(line) as SentSms);
  }

  /** The code of the last message to this number. */
  async lastCode(to: string): Promise<string> {
    const sent = (await this.messages()).filter(message => message.to === to);
    const code = /\b(\d{6})\b/.exec(sent.at(-1)?.text ?? '')?.[1];
    if (!code) throw new Error(`no code was sent to ${to}`);
    return code;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
