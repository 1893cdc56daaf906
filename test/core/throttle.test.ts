import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { app, mock } from 'egg-mock/bootstrap';
import bcrypt from 'bcrypt';
import qs from 'qs';
import type { ThrottlePolicy } from '../../app/repository/ThrottleRepository';
import { CLIENT, USER, basic, clientPost, createClient, createUser, tokenRequest } from '../helpers';
import { ipSubject } from '../../app/core/throttle';
import { canonicalUsername } from '../../app/core/username';

const OFF: ThrottlePolicy = { threshold: 1000, windowSeconds: 3600, stepSeconds: 60, maxBlockSeconds: 900 };

function policy(threshold: number, stepSeconds = 60, maxBlockSeconds = 900): ThrottlePolicy {
  return { threshold, windowSeconds: 3600, stepSeconds, maxBlockSeconds };
}

/** Only the named policies count; the others are out of reach. */
function usePolicies(policies: Partial<Record<'userIp' | 'user' | 'ip' | 'clientIp', ThrottlePolicy>>) {
  for (const name of [ 'userIp', 'user', 'ip', 'clientIp' ] as const) {
    mock(app.config.oauth.throttle, name, policies[name] ?? OFF);
  }
}

function attempt(password: string, ip: string, username = USER.username, auth?: string) {
  return tokenRequest(app, { grant_type: 'password', username, password }, auth).set('X-Forwarded-For', ip);
}

function assertThrottled(res: { status: number; headers: Record<string, string>; body: { error?: string } }) {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.match(res.headers['retry-after'], /^[1-9]\d*$/);
  assert.equal(res.body.error, 'too_many_requests');
  assert.match(res.headers['content-type'], /application\/json/);
}

describe('brute-force throttling of the token endpoint', () => {
  let clock: number;
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
    clock = Date.now();
    mock(app.loginThrottle, 'now', () => new Date(clock));
  });
  afterEach(mock.restore);

  it('locks one username from one IP after the threshold, refusing the right password too', async () => {
    usePolicies({ userIp: policy(3) });
    for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong password', '10.0.0.1')).status, 400);
    const res = await attempt(USER.password, '10.0.0.1');
    assertThrottled(res);
    assert.equal(res.headers['retry-after'], '60');
    // The owner on another IP is not locked out by it.
    assert.equal((await attempt(USER.password, '10.0.0.2')).status, 200);
  });

  it('counts an unknown username exactly like a real one', async () => {
    usePolicies({ userIp: policy(3) });
    const real = [];
    const unknown = [];
    for (let i = 0; i < 4; i++) real.push((await attempt('wrong password', '10.0.0.1')).status);
    for (let i = 0; i < 4; i++) unknown.push((await attempt('wrong password', '10.0.0.1', 'nobody-here')).status);
    assert.deepEqual(real, [ 400, 400, 400, 429 ]);
    assert.deepEqual(unknown, real);
  });

  it('locks a username guessed from many IPs (username-wide backoff)', async () => {
    usePolicies({ user: policy(4) });
    for (let i = 0; i < 4; i++) assert.equal((await attempt('wrong password', `10.0.1.${i}`)).status, 400);
    assertThrottled(await attempt(USER.password, '10.0.1.99'));
    // Other accounts are unaffected.
    await createUser(app, { username: 'bob', email: 'bob@example.com' });
    assert.equal((await attempt(USER.password, '10.0.1.99', 'bob')).status, 200);
  });

  it('locks an IP that tries many usernames (credential stuffing)', async () => {
    usePolicies({ ip: policy(5) });
    for (let i = 0; i < 5; i++) assert.equal((await attempt('guess', '10.0.2.1', `user${i}`)).status, 400);
    assertThrottled(await attempt(USER.password, '10.0.2.1'));
    assert.equal((await attempt(USER.password, '10.0.2.2')).status, 200);
  });

  it('locks a client id whose secret is being guessed from one IP, the right secret included', async () => {
    usePolicies({ clientIp: policy(3) });
    for (let i = 0; i < 3; i++) {
      assert.equal((await attempt(USER.password, '10.0.3.1', USER.username, basic(CLIENT.clientId, `guess${i}`))).status, 401);
    }
    assertThrottled(await attempt(USER.password, '10.0.3.1'));
    // A client id is public: its users elsewhere are not locked out.
    assert.equal((await attempt(USER.password, '10.0.3.2')).status, 200);
  });

  it('counts a burst of parallel guesses before checking any: no more than the threshold get through', async () => {
    usePolicies({ userIp: policy(3) });
    const statuses = await Promise.all(Array.from({ length: 20 }, () => attempt('wrong password', '10.0.8.1')));
    const counts = statuses.reduce((m, r) => m.set(r.status, (m.get(r.status) ?? 0) + 1), new Map<number, number>());
    assert.equal(counts.get(400), 3, JSON.stringify([ ...counts ]));
    assert.equal(counts.get(429), 17, JSON.stringify([ ...counts ]));
  });

  it('writes nothing for a refused attempt, not even the counters of its new keys', async () => {
    usePolicies({ user: policy(2) });
    for (const ip of [ '10.0.12.1', '10.0.12.2' ]) assert.equal((await attempt('wrong password', ip)).status, 400);
    const counters = () => app.mysql.query('SELECT * FROM auth_throttle ORDER BY throttle_key');
    const before = await counters();
    assertThrottled(await attempt(USER.password, '10.0.12.99'));
    assert.deepEqual(await counters(), before);
  });

  it('counts every spelling the users table matches as one username (case, accents, width)', async () => {
    usePolicies({ user: policy(3) });
    for (const [ i, spelling ] of [ 'ALICE', 'Álice', 'ａｌｉｃｅ' ].entries()) {
      assert.equal((await attempt('wrong password', `10.0.9.${i}`, spelling)).status, 400);
    }
    assertThrottled(await attempt(USER.password, '10.0.9.9'));
  });

  it('throttles client authentication on the revocation endpoint too', async () => {
    usePolicies({ clientIp: policy(2) });
    const revoke = (secret: string) => clientPost(app, '/oauth/revoke', { token: 'x' }, basic(CLIENT.clientId, secret)).set('X-Forwarded-For', '10.0.10.1');
    assert.equal((await revoke('guess1')).status, 401);
    assert.equal((await revoke('guess2')).status, 401);
    assertThrottled(await revoke(CLIENT.secret));
  });

  it('does not count successful or malformed requests as failures', async () => {
    usePolicies({ ip: policy(2) });
    for (let i = 0; i < 5; i++) assert.equal((await attempt(USER.password, '10.0.11.1')).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await tokenRequest(app, { grant_type: 'password', username: USER.username }).set('X-Forwarded-For', '10.0.11.1')).status, 400);
    assert.equal((await attempt(USER.password, '10.0.11.1')).status, 200);
  });

  it('resets the user-and-address count on a successful login', async () => {
    usePolicies({ userIp: policy(3), user: policy(3) });
    for (let i = 0; i < 2; i++) await attempt('wrong password', '10.0.4.1');
    assert.equal((await attempt(USER.password, '10.0.4.1')).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await attempt('wrong password', '10.0.4.1')).status, 400);
    assert.equal((await attempt(USER.password, '10.0.4.1')).status, 200);
  });

  it('keeps the username-wide count after the owner\'s login: a distributed guesser gets no fresh allowance', async () => {
    usePolicies({ user: policy(4) });
    for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong password', `10.0.13.${i}`)).status, 400);
    assert.equal((await attempt(USER.password, '10.0.13.50')).status, 200);
    assert.equal((await attempt('wrong password', '10.0.13.60')).status, 400);
    assertThrottled(await attempt('wrong password', '10.0.13.61'));
  });

  it('forgets an attempt in flight whose request died, once the reservation lifetime (60 s) has passed', async () => {
    usePolicies({ userIp: policy(1) });
    // Counted, never settled: the worker died with the request.
    const { reservation } = await app.loginThrottle.begin({ ip: '10.0.14.1', username: USER.username });
    assert.ok(reservation);
    assertThrottled(await attempt(USER.password, '10.0.14.1'));
    clock += 61 * 1000;
    assert.equal((await attempt(USER.password, '10.0.14.1')).status, 200);
  });

  it('cannot lock an account forever: blocks grow by steps up to the cap, and then expire', async () => {
    usePolicies({ user: policy(2, 60, 180) });
    const blocks: number[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await attempt('wrong password', `10.0.5.${i}`);
      if (res.status === 429) {
        const wait = Number(res.headers['retry-after']);
        blocks.push(wait);
        // The attacker waits out each block and tries again.
        clock += wait * 1000;
      }
    }
    assert.deepEqual(blocks, [ 60, 120, 180, 180 ]);
    clock += 180 * 1000;
    assert.equal((await attempt(USER.password, '10.0.5.200')).status, 200, 'the block ends');
  });

  it('forgets failures once their window has passed', async () => {
    usePolicies({ userIp: { threshold: 3, windowSeconds: 60, stepSeconds: 60, maxBlockSeconds: 900 } });
    for (let i = 0; i < 2; i++) await attempt('wrong password', '10.0.6.1');
    clock += 61000;
    for (let i = 0; i < 2; i++) assert.equal((await attempt('wrong password', '10.0.6.1')).status, 400);
    assert.equal((await attempt(USER.password, '10.0.6.1')).status, 200);
  });

  it('can be turned off', async () => {
    usePolicies({ userIp: policy(1) });
    mock(app.config.oauth.throttle, 'enabled', false);
    for (let i = 0; i < 3; i++) await attempt('wrong password', '10.0.7.1');
    assert.equal((await attempt(USER.password, '10.0.7.1')).status, 200);
  });
});

describe('known addresses: failures elsewhere never lock a user out of an address it logged in from', () => {
  // Real source addresses on loopback (127.0.0.0/8), no X-Forwarded-For: the server sees each one
  // as its own client address.
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer(app.callback());
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise(resolve => server.close(resolve)));
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });
  afterEach(mock.restore);

  function loginFrom(localAddress: string, password: string, username = USER.username): Promise<number> {
    const body = qs.stringify({ grant_type: 'password', username, password });
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port, localAddress, method: 'POST', path: '/oauth/token',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(CLIENT.clientId, CLIENT.secret), 'Content-Length': Buffer.byteLength(body) },
      }, res => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('should let the owner in from a known address while strangers have locked the username everywhere else', async () => {
    usePolicies({ userIp: policy(5), user: policy(30) });
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200);
    // Six addresses, five wrong passwords each: 30 failures, the username-wide threshold.
    for (let host = 3; host <= 8; host++) {
      for (let i = 0; i < 5; i++) assert.equal(await loginFrom(`127.0.0.${host}`, 'wrong password'), 400);
    }
    assert.equal(await loginFrom('127.0.0.9', USER.password), 429, 'an unknown address is locked out with the username');
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200, 'the owner\'s known address is not');
    // One more failure as each block ends does not reach the known address either.
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200);
  });

  it('should still apply the user-and-address limit at a known address', async () => {
    usePolicies({ userIp: policy(3), user: policy(30) });
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200);
    for (let i = 0; i < 3; i++) assert.equal(await loginFrom('127.0.0.2', 'wrong password'), 400);
    assert.equal(await loginFrom('127.0.0.2', USER.password), 429);
  });

  it('should not lock the owner out of a known address full of guessers (carrier NAT), while strangers there are', async () => {
    usePolicies({ ip: policy(5) });
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200);
    for (let i = 0; i < 5; i++) assert.equal(await loginFrom('127.0.0.2', 'guess', `someone${i}`), 400);
    assert.equal(await loginFrom('127.0.0.2', 'guess', 'someone-else'), 429);
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200);
  });

  it('should forget a known address after the setting\'s days (30 by default)', async () => {
    usePolicies({ user: policy(2) });
    let clock = Date.now();
    mock(app.loginThrottle, 'now', () => new Date(clock));
    assert.equal(await loginFrom('127.0.0.2', USER.password), 200);
    for (const host of [ 3, 4 ]) assert.equal(await loginFrom(`127.0.0.${host}`, 'wrong password'), 400);
    clock += app.config.oauth.throttle.knownAddressSeconds * 1000 + 1000;
    // The username-wide window (1 h in this test) has passed too: fail twice more from strangers.
    for (const host of [ 3, 4 ]) assert.equal(await loginFrom(`127.0.0.${host}`, 'wrong password'), 400);
    assert.equal(await loginFrom('127.0.0.2', USER.password), 429);
  });
});

describe('timing of failed logins tells nothing', () => {
  afterEach(mock.restore);

  function median(values: number[]): number {
    const sorted = [ ...values ].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  it('unknown user, wrong password, disabled user, bcrypt user and throttled take the same median time (±25 %)', async function() {
    this.timeout(120000);
    await createClient(app);
    await createUser(app);
    await createUser(app, { username: 'disabled', email: 'disabled@example.com' });
    await app.container.accounts.setEnabled('disabled', false);
    // An imported Spring hash: bcrypt cost 10 costs far more than the test's cheap argon2.
    await app.container.accounts.importUser({ username: 'imported', passwordHash: bcrypt.hashSync('imported password', 10) });
    usePolicies({ userIp: policy(1) });
    await attempt('wrong password', '10.9.9.9', 'locked-out');
    mock(app.config.oauth, 'minFailureMs', 250);

    // A fresh IP for every try: only the locked-out case is throttled.
    const cases: Record<string, [ number, (ip: string) => ReturnType<typeof attempt> ]> = {
      unknown_user: [ 400, ip => attempt(USER.password, ip, 'nobody-at-all') ],
      wrong_password: [ 400, ip => attempt('wrong password', ip) ],
      disabled_user: [ 400, ip => attempt(USER.password, ip, 'disabled') ],
      bcrypt_user: [ 400, ip => attempt('wrong password', ip, 'imported') ],
      throttled: [ 429, () => attempt('any', '10.9.9.9', 'locked-out') ],
    };
    const medians: Record<string, number> = {};
    for (const [ c, [ name, [ status, send ]]] of Object.entries(cases).entries()) {
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const started = process.hrtime.bigint();
        const res = await send(`10.9.${c}.${i}`);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        assert.equal(res.status, status, name);
      }
      medians[name] = median(times);
    }
    const values = Object.values(medians);
    const spread = Math.max(...values) / Math.min(...values);
    assert.ok(spread <= 1.25, `medians (ms): ${JSON.stringify(medians)}`);
  });
});

describe('input limits of the token endpoint', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app);
  });

  it('should 400 for a username or password longer than the limit, before hashing it', async () => {
    const long = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'x'.repeat(1025) });
    assert.equal(long.status, 400);
    assert.equal(long.body.error, 'invalid_request');
    assert.match(long.body.error_description, /password/);
    const name = await tokenRequest(app, { grant_type: 'password', username: 'u'.repeat(257), password: USER.password });
    assert.equal(name.status, 400);
    assert.match(name.body.error_description, /username/);
  });

  it('should 413 JSON for a body over 16 kB, such as a megabyte password', async () => {
    const started = Date.now();
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: 'x'.repeat(1024 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'invalid_request');
    assert.ok(Date.now() - started < 2000);
  });

  it('should accept a password at the limit', async () => {
    const password = 'p'.repeat(1024);
    await app.container.accounts.setPassword(USER.username, password);
    const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password });
    assert.equal(res.status, 200);
  });
});

describe('throttle keys', () => {
  it('count an IPv6 client per /64 and an IPv4 client per address', () => {
    assert.equal(ipSubject('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(ipSubject('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(ipSubject('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(ipSubject('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(ipSubject('10.1.2.3'), '10.1.2.3');
    // ctx.ip of a request whose client disconnected (seen under load in the bench).
    assert.equal(ipSubject(undefined), 'unknown');
  });

  it('fold a username the way utf8mb4_unicode_ci compares it', () => {
    assert.equal(canonicalUsername(' ＤÉmo\u200b '), 'demo');
  });
});
