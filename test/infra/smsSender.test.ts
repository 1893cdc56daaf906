import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createSmsSender, parseSenderSpec } from '../../app/infra/smsSender';

const OPTIONS = { log: () => undefined, webhookSecret: 'secret', webhookTimeoutMs: 1000 };

describe('SMS senders (infra/smsSender)', () => {
  it('reads SMS_SENDER: log, file:<path>, webhook:<url>', () => {
    assert.deepEqual(parseSenderSpec('log'), { kind: 'log' });
    assert.deepEqual(parseSenderSpec('file:/tmp/sms.jsonl'), { kind: 'file', path: '/tmp/sms.jsonl' });
    const webhook = parseSenderSpec('webhook:https://sms.example/send');
    assert.equal(webhook.kind === 'webhook' && webhook.url.href, 'https://sms.example/send');
  });

  it('refuses a plain-http webhook but on a loopback host, and anything else than the three kinds', () => {
    for (const spec of [ 'webhook:http://127.0.0.1:8080/sms', 'webhook:http://localhost/sms', 'webhook:http://[::1]:9/sms' ]) {
      assert.equal(parseSenderSpec(spec).kind, 'webhook', spec);
    }
    assert.throws(() => parseSenderSpec('webhook:http://sms.example/send'), /must be https/);
    assert.throws(() => parseSenderSpec('webhook:http://10.0.0.1/send'), /must be https/);
    assert.throws(() => parseSenderSpec('webhook:not a url'), /absolute URL/);
    assert.throws(() => parseSenderSpec('file:'), /needs a path/);
    assert.throws(() => parseSenderSpec('smtp:x'), /must be log, file:<path> or webhook:<url>/);
  });

  it('refuses a webhook sender without its signature key', () => {
    assert.throws(() => createSmsSender(parseSenderSpec('webhook:https://sms.example/send'), { ...OPTIONS, webhookSecret: '' }), /SMS_WEBHOOK_SECRET/);
  });

  it('appends one JSON line {to, text} per message with the file sender', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sms-sender-'));
    try {
      const file = path.join(dir, 'out.jsonl');
      const sender = createSmsSender(parseSenderSpec(`file:${file}`), OPTIONS);
      await sender.send('+8613800138000', 'code 123456');
      await sender.send('+12015550123', 'code 654321');
      assert.deepEqual((await readFile(file, 'utf8')).split('\n'), [
        '{"to":"+8613800138000","text":"code 123456"}', '{"to":"+12015550123","text":"code 654321"}', '',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes the message with the log sender', async () => {
    const lines: string[] = [];
    await createSmsSender({ kind: 'log' }, { ...OPTIONS, log: line => lines.push(line) }).send('+8613800138000', 'code 123456');
    assert.deepEqual(lines, [ '[sms] to +8613800138000: code 123456' ]);
  });
});
