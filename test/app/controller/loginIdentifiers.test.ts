import { strict as assert } from 'node:assert';
import { app, mock } from 'egg-mock/bootstrap';
import { CLIENT, USER, basic, bearer, createClient, createUser, tokenRequest } from '../../helpers';
import { CookieBrowser } from '../../browser';

const PHONE = '+8613800138000';
const US_PHONE = '+12015550123';

function login(username: string, password = USER.password, ip = '10.9.0.1') {
  return tokenRequest(app, { grant_type: 'password', username, password }).set('X-Forwarded-For', ip);
}

async function assertLoggedIn(res: { status: number; body: { access_token?: string } }) {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const me = await bearer(app, '/api/currentUser', res.body.access_token as string);
  assert.equal(me.body.username, USER.username);
}

describe('[POST /oauth/token] grant_type=password by username, e-mail address or phone number', () => {
  beforeEach(async () => {
    await createClient(app);
    await createUser(app, { phone: PHONE });
  });
  afterEach(mock.restore);

  it('should 200 for the e-mail address, in any letter case', async () => {
    await assertLoggedIn(await login(USER.email));
    await assertLoggedIn(await login('Alice@Example.COM'));
  });

  it('should 200 for an e-mail address longer than a username may be', async () => {
    const email = `${'a'.repeat(200)}@example.com`;
    await app.container.accounts.updateContacts(USER.username, { email });
    await assertLoggedIn(await login(email));
  });

  it('should 200 for the phone number with its + encoded (%2B)', async () => {
    await assertLoggedIn(await login(PHONE));
  });

  it('should 200 for the phone number with an unencoded +, which arrives as a space (Spring clients)', async () => {
    // A number of another region than the default: without its +, it would not be this number.
    await app.container.accounts.updateContacts(USER.username, { phone: US_PHONE });
    const res = await app.httpRequest().post('/oauth/token').set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(`grant_type=password&username=${US_PHONE}&password=${encodeURIComponent(USER.password)}`);
    await assertLoggedIn(res);
  });

  it('should 200 for a national number in the default region, written with spaces', async () => {
    await assertLoggedIn(await login('138 0013 8000'));
  });

  it('should 200 for a username of digits from before the rule (an import), when no phone number is that', async () => {
    await app.mysql.query('UPDATE users SET username = ? WHERE username = ?', [ '18800000000', USER.username ]);
    const res = await login('18800000000');
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('should 400 invalid_grant with one body for an unknown e-mail address or phone number, a wrong password and a disabled user', async () => {
    const bodies = [
      (await login('nobody@example.com', USER.password, '10.9.1.1')).body,
      (await login('+8613900139000', USER.password, '10.9.1.2')).body,
      (await login(USER.email, 'wrong password', '10.9.1.3')).body,
      (await login(PHONE, 'wrong password', '10.9.1.4')).body,
    ];
    await app.container.accounts.setEnabled(USER.username, false);
    bodies.push((await login(PHONE, USER.password, '10.9.1.5')).body);
    for (const body of bodies) assert.deepEqual(body, { error: 'invalid_grant', error_description: 'Invalid grant: user credentials are invalid' });
  });

  it('should count the failures of one account together, whichever identifier named it', async () => {
    mock(app.config.oauth.throttle, 'userIp', { threshold: 3, windowSeconds: 900, stepSeconds: 30, maxBlockSeconds: 900 });
    for (const username of [ USER.username, USER.email, PHONE ]) assert.equal((await login(username, 'wrong password')).status, 400);
    const res = await login('alice@EXAMPLE.com');
    assert.equal(res.status, 429, JSON.stringify(res.body));
  });

  it('should count an unknown number by the number, however it is written', async () => {
    mock(app.config.oauth.throttle, 'userIp', { threshold: 2, windowSeconds: 900, stepSeconds: 30, maxBlockSeconds: 900 });
    assert.equal((await login('+8613900139000', 'x')).status, 400);
    assert.equal((await login('139 0013 9000', 'x')).status, 400);
    assert.equal((await login('+86 139-0013-9000', 'x')).status, 429);
  });
});

describe('[POST /login] by e-mail address or phone number', () => {
  beforeEach(async () => {
    await createUser(app, { phone: PHONE });
  });

  it('should sign in on the login page with the e-mail address or the phone number', async () => {
    for (const username of [ USER.email, PHONE ]) {
      const browser = new CookieBrowser(app);
      const res = await browser.signIn(username, USER.password);
      assert.equal(res.status, 302, res.text);
      assert.equal(res.headers.location, '/');
    }
  });
});
