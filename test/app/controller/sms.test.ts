import { strict as assert } from 'node:assert';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, USER, basic, bearer, clientPost, closeServer, createClient, createUser, serveOnLoopback, tokenRequest } from '../../helpers';
import { SmsOutbox } from '../../smsOutbox';

const PHONE = '+8613800138000';
/** The same number as a Chinese user types it (the unittest default region is CN). */
const NATIONAL = '13800138000';
const STRANGER = '+8613900139000';
const US_PHONE = '+12015550123';

function requestCode(phone: string, { ip = '10.1.0.1', auth }: { ip?: string; auth?: string } = {}) {
  return clientPost(app, '/api/sms/codes', { phone }, auth).set('X-Forwarded-For', ip);
}

function smsLogin(phone: string, code: string, { ip = '10.1.0.1', auth }: { ip?: string; auth?: string } = {}) {
  return tokenRequest(app, { grant_type: 'password', auth_type: 'sms', username: phone, password: code }, auth).set('X-Forwarded-For', ip);
}

function assertOAuthError(res: { status: number; body: { error?: string; error_description?: string } }, status: number, error: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, error);
  assert.equal(typeof res.body.error_description, 'string');
}

function assertAccepted(res: { status: number; body: unknown; headers: Record<string, string> }) {
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.deepEqual(res.body, { expires_in: 300 });
  assert.equal(res.headers['cache-control'], 'no-store');
}

/** Every row of every table of the database, as text: what a dump of it holds. */
async function databaseDump(): Promise<string> {
  const tables: Array<Record<string, string>> = await app.mysql.query('SHOW TABLES');
  const dump: unknown[] = [];
  for (const row of tables) dump.push(await app.mysql.query(`SELECT * FROM ${app.mysql.escapeId(Object.values(row)[0])}`));
  return JSON.stringify(dump);
}

/** Moves the clock of the SMS codes and of their send limits `seconds` ahead. */
function advanceClock(seconds: number) {
  const at = new Date(Date.now() + seconds * 1000);
  mock(app.smsCodes, 'now', () => at);
  mock(app.smsLimiter, 'now', () => at);
}

/** What the file sender wrote in the current test. */
let outbox: SmsOutbox;

/** Before each test: a password client, the user with PHONE, and an empty outbox; after it, the mocks undone. */
function useOutbox() {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app, { phone: PHONE });
    outbox = await SmsOutbox.open(app);
  });
  afterEach(async () => {
    mock.restore();
    await outbox.close();
  });
}

describe('[POST /api/sms/codes]', () => {
  useOutbox();

  describe('sending', () => {
    it('should answer 202 and send a 6-digit code to the phone of a registered user', async () => {
      assertAccepted(await requestCode(PHONE));
      const messages = await outbox.messages();
      assert.equal(messages.length, 1);
      assert.equal(messages[0].to, PHONE);
      assert.match(messages[0].text, /^Your sign-in code is \d{6}\. It expires in 5 minutes\.$/);
    });

    it('should read a national number in the default region, and a form-encoded + that arrives as a space', async () => {
      assertAccepted(await requestCode(NATIONAL));
      await app.container.accounts.updateContacts(USER.username, { phone: US_PHONE });
      const raw = await app.httpRequest().post('/api/sms/codes').set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .set('X-Forwarded-For', '10.1.0.2')
        .send(`phone=${US_PHONE}`);
      assertAccepted(raw);
      assert.deepEqual((await outbox.messages()).map(m => m.to), [ PHONE, US_PHONE ]);
    });

    it('should answer 202 and send nothing for an unknown phone', async () => {
      assertAccepted(await requestCode(STRANGER));
      assert.deepEqual(await outbox.messages(), []);
      const [{ count }] = await app.mysql.query('SELECT COUNT(*) AS count FROM sms_codes');
      assert.equal(count, 0);
    });

    it('should answer 202 and send nothing for the phone of a disabled user', async () => {
      await app.container.accounts.setEnabled(USER.username, false);
      assertAccepted(await requestCode(PHONE));
      assert.deepEqual(await outbox.messages(), []);
    });

    it('should take at least oauth.sms.minResponseMs, for a registered phone and for an unknown one', async () => {
      mock(app.config.oauth.sms, 'minResponseMs', 400);
      for (const phone of [ PHONE, STRANGER ]) {
        const started = Date.now();
        assertAccepted(await requestCode(phone));
        assert.ok(Date.now() - started >= 390, `${phone}: ${Date.now() - started} ms`);
      }
    });

    it('should store the code only as an HMAC under the server key: a database dump holds no code', async () => {
      await requestCode(PHONE);
      const code = await outbox.lastCode(PHONE);
      const dump = await databaseDump();
      assert.ok(!dump.includes(code), 'the code is nowhere in the database');
      const [ row ] = await app.mysql.query('SELECT code_mac FROM sms_codes WHERE phone = ?', [ PHONE ]);
      for (const plain of [ code, `${PHONE}:${code}` ]) {
        assert.notEqual(row.code_mac, createHash('sha256').update(plain).digest('hex'), 'not a plain hash, which a million guesses reverse');
      }
      assert.equal(row.code_mac, createHmac('sha256', app.config.oauth.sms.codeKey).update(`${PHONE}:${code}`).digest('hex'));
    });

    it('should write the message to the app log with the log sender (local and unittest only)', async () => {
      mock(app.config.oauth.sms, 'sender', 'log');
      app.mockLog('logger');
      assertAccepted(await requestCode(PHONE));
      app.expectLog(/\[sms\] to \+8613800138000: Your sign-in code is \d{6}\./, 'logger');
    });
  });

  describe('send limits (429 with Retry-After)', () => {
    function assertThrottled(res: { status: number; headers: Record<string, string>; body: { error?: string } }, retryAfter?: number) {
      assertOAuthError(res, 429, 'too_many_requests');
      assert.match(res.headers['retry-after'], /^[1-9]\d*$/);
      if (retryAfter !== undefined) assert.ok(Math.abs(Number(res.headers['retry-after']) - retryAfter) <= 1, res.headers['retry-after']);
    }

    it('should allow one code per phone per 60 s, the same for an unknown phone as for a registered one', async () => {
      for (const phone of [ PHONE, STRANGER ]) {
        assertAccepted(await requestCode(phone, { ip: '10.1.0.1' }));
        // From another address too: the limit is the number's.
        assertThrottled(await requestCode(phone, { ip: '10.1.0.2' }), 60);
      }
      assert.equal((await outbox.messages()).length, 1);
      advanceClock(61);
      assertAccepted(await requestCode(PHONE));
      assert.equal((await outbox.messages()).length, 2);
    });

    it('should allow 5 codes per phone per hour', async () => {
      for (let i = 0; i < 5; i++) {
        advanceClock(61 * i);
        assertAccepted(await requestCode(PHONE, { ip: `10.1.0.${i + 1}` }));
      }
      advanceClock(61 * 5);
      assertThrottled(await requestCode(PHONE, { ip: '10.1.0.9' }), 3600 - 61 * 5);
      advanceClock(3601);
      assertAccepted(await requestCode(PHONE, { ip: '10.1.0.9' }));
    });

    it('should allow 20 codes per client address per hour, whatever the numbers', async () => {
      for (let i = 0; i < 20; i++) assertAccepted(await requestCode(`+861380013${String(8100 + i)}`, { ip: '10.2.0.1' }));
      assertThrottled(await requestCode(PHONE, { ip: '10.2.0.1' }), 3600);
      assertAccepted(await requestCode(PHONE, { ip: '10.2.0.2' }));
    });

    it('should stop every send at the daily cap (oauth.sms.limits.daily)', async () => {
      mock(app.config.oauth.sms.limits, 'daily', { limit: 2, windowSeconds: 24 * 3600 });
      assertAccepted(await requestCode(STRANGER, { ip: '10.3.0.1' }));
      assertAccepted(await requestCode('+8613900139001', { ip: '10.3.0.2' }));
      assertThrottled(await requestCode(PHONE, { ip: '10.3.0.3' }), 24 * 3600);
      assert.deepEqual(await outbox.messages(), []);
    });

    it('should keep no phone number or address in the counters', async () => {
      await requestCode(PHONE, { ip: '10.4.0.1' });
      const rows: Array<{ throttle_key: string }> = await app.mysql.query('SELECT throttle_key FROM auth_throttle');
      assert.ok(rows.length >= 4, 'per phone (two), per address, per day');
      for (const { throttle_key: key } of rows) assert.match(key, /^[0-9a-f]{64}$/);
    });
  });

  describe('request errors', () => {
    it('should 401 invalid_client without client authentication, or with a wrong secret', async () => {
      for (const auth of [ '', basic(CLIENT.clientId, 'wrong-secret') ]) {
        const res = await requestCode(PHONE, { auth });
        assertOAuthError(res, 401, 'invalid_client');
        assert.match(res.headers['www-authenticate'], /^Basic realm=/);
      }
      assert.deepEqual(await outbox.messages(), []);
    });

    it('should 400 unauthorized_client for a client not registered for the password grant', async () => {
      await createClient(app, { clientId: 'machine', grants: [ 'client_credentials' ] });
      assertOAuthError(await requestCode(PHONE, { auth: basic('machine', CLIENT.secret) }), 400, 'unauthorized_client');
    });

    it('should 400 invalid_request without phone, for what is not a phone number, and for a JSON body', async () => {
      assertOAuthError(await clientPost(app, '/api/sms/codes', {}), 400, 'invalid_request');
      for (const phone of [ 'alice', '+86123', '12345', `+86${'1'.repeat(40)}` ]) {
        const res = await requestCode(phone);
        assertOAuthError(res, 400, 'invalid_request');
        assert.match(res.body.error_description, /phone/);
      }
      const json = await app.httpRequest().post('/api/sms/codes').set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
        .send({ phone: PHONE });
      assertOAuthError(json, 400, 'invalid_request');
      assert.deepEqual(await outbox.messages(), []);
    });

    it('should 404 not_found when SMS login is off (no SMS_SENDER)', async () => {
      mock(app.config.oauth.sms, 'sender', '');
      const res = await requestCode(PHONE);
      assertOAuthError(res, 404, 'not_found');
      assert.match(res.body.error_description, /SMS_SENDER/);
    });
  });

  describe('webhook: sender', () => {
    const SECRET = 'webhook-test-secret';
    let server: http.Server | undefined;
    let received: Array<{ headers: http.IncomingHttpHeaders; body: string }>;

    /** A gateway on a loopback port that answers with `status`, or never when `status` is 0. */
    async function gateway(status: number) {
      received = [];
      const started = await serveOnLoopback((req, res) => {
        let body = '';
        req.on('data', chunk => { body += chunk; });
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          if (status > 0) res.writeHead(status).end();
        });
      });
      server = started.server;
      mock(app.config.oauth.sms, 'sender', `webhook:${started.origin}/sms`);
      mock(app.config.oauth.sms, 'webhook', { secret: SECRET, timeoutMs: 300 });
    }

    afterEach(async () => {
      await closeServer(server);
      server = undefined;
    });

    it('should POST {to, text} as JSON with an X-Signature HMAC of the body, and the code logs in', async () => {
      await gateway(204);
      assertAccepted(await requestCode(PHONE));
      assert.equal(received.length, 1);
      const [{ headers, body }] = received;
      assert.equal(headers['content-type'], 'application/json');
      assert.equal(headers['x-signature'], `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
      const message = JSON.parse(body);
      assert.equal(message.to, PHONE);
      const code = /\b(\d{6})\b/.exec(message.text)?.[1] as string;
      assert.equal((await smsLogin(PHONE, code)).status, 200);
    });

    it('should answer 503 temporarily_unavailable when the gateway does not answer in time, and store no code as sent', async () => {
      await gateway(0);
      const started = Date.now();
      const res = await requestCode(PHONE);
      assertOAuthError(res, 503, 'temporarily_unavailable');
      assert.ok(Date.now() - started < 3000, 'within the timeout, not the gateway\'s pleasure');
      assert.equal(received.length, 1);
      const [{ count }] = await app.mysql.query('SELECT COUNT(*) AS count FROM sms_codes');
      assert.equal(count, 0, 'the code was taken back');
      const code = /\b(\d{6})\b/.exec(JSON.parse(received[0].body).text)?.[1] as string;
      assertOAuthError(await smsLogin(PHONE, code), 400, 'invalid_grant');
    });

    it('should answer 503 when the gateway refuses the message', async () => {
      await gateway(500);
      assertOAuthError(await requestCode(PHONE), 503, 'temporarily_unavailable');
      const [{ count }] = await app.mysql.query('SELECT COUNT(*) AS count FROM sms_codes');
      assert.equal(count, 0);
    });
  });
});

describe('[POST /oauth/token] grant_type=password&auth_type=sms', () => {
  useOutbox();

  async function sendCode(phone = PHONE): Promise<string> {
    assertAccepted(await requestCode(phone));
    return outbox.lastCode(phone);
  }

  it('should 200 with the tokens of a password login for the code sent to the phone', async () => {
    const code = await sendCode();
    const res = await smsLogin(PHONE, code);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.access_token, /^[0-9a-f]{64}$/);
    assert.match(res.body.refresh_token, /^[0-9a-f]{64}$/);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.headers['cache-control'], 'no-store');
    const me = await bearer(app, '/api/currentUser', res.body.access_token);
    assert.equal(me.body.username, USER.username);
    assert.equal(me.body.phone, PHONE);
  });

  it('should take the number as Spring clients send it: an unencoded + (a space once decoded), or national', async () => {
    // A number of another region than the default: without its +, it would not be this number.
    await app.container.accounts.updateContacts(USER.username, { phone: US_PHONE });
    const raw = await app.httpRequest().post('/api/user/token').set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(`grant_type=password&username=${US_PHONE}&password=${await sendCode(US_PHONE)}&auth_type=sms`);
    assert.equal(raw.status, 200, JSON.stringify(raw.body));
    await app.container.accounts.updateContacts(USER.username, { phone: PHONE });
    assert.equal((await smsLogin(NATIONAL, await sendCode())).status, 200);
  });

  it('should 400 invalid_grant for a code used a second time (single use)', async () => {
    const code = await sendCode();
    assert.equal((await smsLogin(PHONE, code)).status, 200);
    assertOAuthError(await smsLogin(PHONE, code), 400, 'invalid_grant');
  });

  it('should give one of two simultaneous logins with the code, never both', async () => {
    const code = await sendCode();
    const results = await Promise.all([ smsLogin(PHONE, code, { ip: '10.5.0.1' }), smsLogin(PHONE, code, { ip: '10.5.0.2' }) ]);
    assert.deepEqual(results.map(res => res.status).sort(), [ 200, 400 ]);
  });

  it('should 400 invalid_grant once the code has expired (5 minutes)', async () => {
    const code = await sendCode();
    advanceClock(301);
    assertOAuthError(await smsLogin(PHONE, code), 400, 'invalid_grant');
  });

  it('should refuse the sixth try even with the right code', async () => {
    const code = await sendCode();
    const wrong = code === '000000' ? '111111' : '000000';
    // From five addresses: the login throttle's per-address limit is not what stops the sixth.
    for (let i = 0; i < 5; i++) assertOAuthError(await smsLogin(PHONE, wrong, { ip: `10.6.0.${i + 1}` }), 400, 'invalid_grant');
    assertOAuthError(await smsLogin(PHONE, code, { ip: '10.6.0.9' }), 400, 'invalid_grant');
  });

  it('should accept the right code after fewer than five wrong tries', async () => {
    const code = await sendCode();
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) await smsLogin(PHONE, wrong, { ip: `10.6.1.${i + 1}` });
    assert.equal((await smsLogin(PHONE, code, { ip: '10.6.1.9' })).status, 200);
  });

  it('should void the first code when a second is sent', async () => {
    const first = await sendCode();
    advanceClock(61);
    const second = await sendCode();
    if (first !== second) assertOAuthError(await smsLogin(PHONE, first), 400, 'invalid_grant');
    assert.equal((await smsLogin(PHONE, second)).status, 200);
  });

  it('should answer a wrong, expired, spent or unknown code, and an unknown phone, with one body', async () => {
    const code = await sendCode();
    const wrong = code === '000000' ? '111111' : '000000';
    const bodies = [
      (await smsLogin(PHONE, wrong, { ip: '10.7.0.1' })).body,
      (await smsLogin(STRANGER, code, { ip: '10.7.0.2' })).body,
      (await smsLogin('alice', code, { ip: '10.7.0.3' })).body,
    ];
    assert.equal((await smsLogin(PHONE, code, { ip: '10.7.0.4' })).status, 200);
    bodies.push((await smsLogin(PHONE, code, { ip: '10.7.0.5' })).body);
    advanceClock(61);
    const late = await sendCode();
    advanceClock(400);
    bodies.push((await smsLogin(PHONE, late, { ip: '10.7.0.6' })).body);
    // The same answer as a wrong password.
    bodies.push((await tokenRequest(app, { grant_type: 'password', username: PHONE, password: 'not the password' }).set('X-Forwarded-For', '10.7.0.7')).body);
    for (const body of bodies) assert.deepEqual(body, { error: 'invalid_grant', error_description: 'Invalid grant: user credentials are invalid' });
  });

  it('should 400 invalid_grant for a disabled user\'s code, and never log in by the code of another number', async () => {
    await createUser(app, { username: 'bob', email: 'bob@example.com', phone: STRANGER });
    const code = await sendCode();
    assertOAuthError(await smsLogin(STRANGER, code, { ip: '10.8.0.1' }), 400, 'invalid_grant');
    await app.container.accounts.setEnabled(USER.username, false);
    assertOAuthError(await smsLogin(PHONE, code, { ip: '10.8.0.2' }), 400, 'invalid_grant');
  });

  it('should 400 invalid_grant for a code sent before the number moved to another user', async () => {
    const code = await sendCode();
    await app.container.accounts.updateContacts(USER.username, { phone: '' });
    await createUser(app, { username: 'bob', email: 'bob@example.com', phone: PHONE });
    assertOAuthError(await smsLogin(PHONE, code), 400, 'invalid_grant');
  });

  it('should 400 unauthorized_client for a client not registered for the password grant', async () => {
    const code = await sendCode();
    await createClient(app, { clientId: 'machine', grants: [ 'client_credentials' ] });
    assertOAuthError(await smsLogin(PHONE, code, { auth: basic('machine', CLIENT.secret) }), 400, 'unauthorized_client');
  });

  it('should 400 invalid_request for an auth_type other than sms or password, and without username or code', async () => {
    const code = await sendCode();
    const other = await tokenRequest(app, { grant_type: 'password', auth_type: 'magic', username: PHONE, password: code });
    assertOAuthError(other, 400, 'invalid_request');
    assert.match(other.body.error_description, /auth_type/);
    assertOAuthError(await tokenRequest(app, { grant_type: 'password', auth_type: 'sms', password: code }), 400, 'invalid_request');
    assertOAuthError(await tokenRequest(app, { grant_type: 'password', auth_type: 'sms', username: PHONE }), 400, 'invalid_request');
    // auth_type=password is the password grant as ever.
    const password = await tokenRequest(app, { grant_type: 'password', auth_type: 'password', username: USER.username, password: USER.password });
    assert.equal(password.status, 200);
  });

  it('should be throttled like a wrong password: the same counters, 429 with Retry-After', async () => {
    mock(app.config.oauth.throttle, 'userIp', { threshold: 2, windowSeconds: 900, stepSeconds: 30, maxBlockSeconds: 900 });
    const code = await sendCode();
    const wrong = code === '000000' ? '111111' : '000000';
    // One wrong code, one wrong password by the username: one account, one count.
    assertOAuthError(await smsLogin(PHONE, wrong), 400, 'invalid_grant');
    assertOAuthError(await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'wrong password' }).set('X-Forwarded-For', '10.1.0.1'), 400, 'invalid_grant');
    const res = await smsLogin(PHONE, code);
    assertOAuthError(res, 429, 'too_many_requests');
    assert.match(res.headers['retry-after'], /^[1-9]\d*$/);
  });

  it('should write the SMS login to the audit log, never the code', async () => {
    app.mockLog('auditLogger');
    const code = await sendCode();
    await smsLogin(PHONE, code === '000000' ? '111111' : '000000');
    await smsLogin(PHONE, code);
    app.expectLog(/"event":"sms_code_sent".*"userId":1/, 'auditLogger');
    app.expectLog(/"event":"login_failure".*"reason":"wrong_code".*"authType":"sms"/, 'auditLogger');
    app.expectLog(/"event":"login_success".*"authType":"sms"/, 'auditLogger');
    app.notExpectLog(code, 'auditLogger');
  });
});
