import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import { createUser } from '../helpers';
import { failNext } from '../conflicts';

const PHONE = '+8613800138000';
const MAX_ATTEMPTS = 5;

describe('SMS code storage (SmsCodeRepository)', () => {
  let userId: number;
  beforeEach(async () => {
    userId = await createUser(app, { phone: PHONE });
  });

  async function codeMac(): Promise<string> {
    const [ row ] = await app.mysql.query('SELECT code_mac FROM sms_codes WHERE phone = ?', [ PHONE ]);
    return row.code_mac;
  }

  it('spends a code once, even when two logins both counted their try before either spent it', async () => {
    await app.smsCodes.issue(PHONE, userId);
    const mac = await codeMac();
    const repo = app.container.smsCodes;
    const now = new Date();
    assert.equal(await repo.countSmsCodeAttempt(PHONE, userId, now, MAX_ATTEMPTS), true);
    assert.equal(await repo.countSmsCodeAttempt(PHONE, userId, now, MAX_ATTEMPTS), true);
    assert.equal(await repo.consumeSmsCode(PHONE, userId, mac, now), true);
    assert.equal(await repo.consumeSmsCode(PHONE, userId, mac, now), false);
  });

  it('counts no more tries against a spent code', async () => {
    await app.smsCodes.issue(PHONE, userId);
    const mac = await codeMac();
    const repo = app.container.smsCodes;
    const now = new Date();
    assert.equal(await repo.countSmsCodeAttempt(PHONE, userId, now, MAX_ATTEMPTS), true);
    assert.equal(await repo.consumeSmsCode(PHONE, userId, mac, now), true);
    assert.equal(await repo.countSmsCodeAttempt(PHONE, userId, now, MAX_ATTEMPTS), false);
  });

  it('counts no try and spends nothing for another user than the one the code was sent to', async () => {
    await app.smsCodes.issue(PHONE, userId);
    const mac = await codeMac();
    const repo = app.container.smsCodes;
    const now = new Date();
    assert.equal(await repo.countSmsCodeAttempt(PHONE, userId + 1, now, MAX_ATTEMPTS), false);
    assert.equal(await repo.consumeSmsCode(PHONE, userId + 1, mac, now), false);
    assert.equal(await repo.consumeSmsCode(PHONE, userId, mac, now), true);
  });

  it('takes back only the code it was asked to, not one issued after it', async () => {
    const first = await app.smsCodes.issue(PHONE, userId);
    const second = await app.smsCodes.issue(PHONE, userId);
    if (first === second) return;
    await app.smsCodes.withdraw(PHONE, first);
    const [{ count }] = await app.mysql.query('SELECT COUNT(*) AS count FROM sms_codes');
    assert.equal(count, 1);
    await app.smsCodes.withdraw(PHONE, second);
    const [{ count: left }] = await app.mysql.query('SELECT COUNT(*) AS count FROM sms_codes');
    assert.equal(left, 0);
  });

  describe('on a Galera cluster, where two nodes writing one row conflict (1213)', () => {
    afterEach(mock.restore);

    it('stores, counts, spends and takes back a code once the conflicts are retried', async () => {
      const saving = failNext(app, /INSERT INTO sms_codes/, 2);
      const code = await app.smsCodes.issue(PHONE, userId);
      assert.equal(saving.seen, 3);
      mock.restore();
      const mac = await codeMac();
      const repo = app.container.smsCodes;
      const now = new Date();
      failNext(app, /UPDATE sms_codes/, 2);
      assert.equal(await repo.countSmsCodeAttempt(PHONE, userId, now, MAX_ATTEMPTS), true);
      mock.restore();
      failNext(app, /UPDATE sms_codes/, 2);
      assert.equal(await repo.consumeSmsCode(PHONE, userId, mac, now), true);
      mock.restore();
      await app.smsCodes.issue(PHONE, userId);
      const removing = failNext(app, /DELETE FROM sms_codes/, 2);
      await app.smsCodes.withdraw(PHONE, code);
      assert.equal(removing.seen, 3);
    });

    it('fails a try whose conflict outlasts every retry: it neither counts nor spends', async () => {
      await app.smsCodes.issue(PHONE, userId);
      const mac = await codeMac();
      const repo = app.container.smsCodes;
      failNext(app, /UPDATE sms_codes/, 100);
      assert.equal(await repo.countSmsCodeAttempt(PHONE, userId, new Date(), MAX_ATTEMPTS), false);
      assert.equal(await repo.consumeSmsCode(PHONE, userId, mac, new Date()), false);
      mock.restore();
      const [ row ] = await app.mysql.query('SELECT attempts, consumed_at FROM sms_codes');
      assert.deepEqual(row, { attempts: 0, consumed_at: null });
    });
  });
});
