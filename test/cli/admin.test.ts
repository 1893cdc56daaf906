import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { app } from 'egg-mock/bootstrap';
import bcrypt from 'bcrypt';
import { type AdminRun as Run, admin, basic, tokenRequest } from '../helpers';

function assertOk(run: Run) {
  assert.equal(run.code, 0, run.stderr);
}

function assertRefused(run: Run, message: RegExp) {
  assert.notEqual(run.code, 0, run.stdout);
  assert.match(run.stderr, message);
}

describe('npm run admin', function() {
  this.timeout(300000);

  it('client:create registers a public client with redirect URIs and no consent page, and client:list shows them', async () => {
    const created = await admin('client:create', '--id', 'spa', '--grants', 'authorization_code,refresh_token',
      '--redirect-uris', 'https://spa.example/cb http://127.0.0.1:8080/cb', '--public', '--skip-consent', '--resources', 'https://api.example/');
    assertOk(created);
    assert.ok(!/secret/.test(created.stdout), 'a public client has no secret to print');
    const list = await admin('client:list');
    assert.match(list.stdout, /^spa\tgrants=authorization_code,refresh_token\t.*\tredirect_uris=https:\/\/spa\.example\/cb,http:\/\/127\.0\.0\.1:8080\/cb\tresources=https:\/\/api\.example\/\taccess_token_format=opaque\tenabled\tpublic\tskip-consent$/m);
  });

  it('client:create registers a client of JWT access tokens with its audience, and refuses one without audience', async () => {
    assertRefused(await admin('client:create', '--id', 'api', '--grants', 'client_credentials', '--access-token-format', 'jwt'),
      /needs an audience \(--audience\)/);
    assertRefused(await admin('client:create', '--id', 'api', '--grants', 'client_credentials', '--access-token-format', 'paseto', '--audience', 'https://api.example'),
      /access token format must be opaque or jwt/);
    assertRefused(await admin('client:create', '--id', 'api', '--grants', 'client_credentials', '--access-token-format', 'jwt', '--audience', 'https://api.example#x'),
      /audience https:\/\/api\.example#x/);
    assertOk(await admin('client:create', '--id', 'api', '--grants', 'client_credentials', '--access-token-format', 'jwt', '--audience', 'https://api.example'));
    const list = await admin('client:list');
    assert.match(list.stdout, /^api\tgrants=client_credentials\t.*\taccess_token_format=jwt\taudience=https:\/\/api\.example\tenabled$/m);
  });

  it('keys:rotate makes the first key active at once, then publishes the next one before it signs; keys:list shows them', async () => {
    const empty = await admin('keys:list');
    assertOk(empty);
    assert.match(empty.stdout, /^no signing keys/);
    const first = await admin('keys:rotate');
    assertOk(first);
    assert.match(first.stdout, /^created ES256 key \S+ \(active\): signs from /);
    const next = await admin('keys:rotate', '--publish-delay', '600');
    assert.match(next.stdout, /^created ES256 key \S+ \(next\): signs from /);
    const list = (await admin('keys:list')).stdout.trim().split('\n');
    assert.deepEqual(list.map(line => line.split('\t')[2]), [ 'next', 'active' ]);
    // The next key signs 600 s after it was made (each command takes seconds of its own: compare within one line).
    const [ , , , created, signsFrom ] = list[0].split('\t').map(field => Date.parse(field.replace(/^\w+=/, '')));
    assert.ok(Math.abs(signsFrom - created - 600_000) < 5000, list[0]);
    assert.ok(!list.join().includes('"d"'), 'no private key');
    assertRefused(await admin('keys:rotate', '--publish-delay', '-1'), /expected whole seconds/);
  });

  it('client:create refuses redirect URIs that are not absolute http(s) without a fragment, and a public client with a secret grant', async () => {
    // eslint-disable-next-line no-script-url -- the very URI that registration must refuse
    for (const uri of [ 'javascript:alert(1)', '/relative/cb', 'https://app.example/cb#frag', 'ftp://app.example/cb' ]) {
      assertRefused(await admin('client:create', '--id', 'bad', '--grants', 'authorization_code', '--redirect-uris', uri), /redirect URI/);
    }
    assertRefused(await admin('client:create', '--id', 'bad', '--grants', 'authorization_code'), /needs at least one redirect URI/);
    assertRefused(await admin('client:create', '--id', 'bad', '--grants', 'authorization_code,password', '--redirect-uris', 'https://a.example/cb', '--public'),
      /public client may use authorization_code and refresh_token only/);
  });

  it('client:create prints a generated secret once, and the client can get tokens with it', async () => {
    assertOk(await admin('user:create', '--username', 'carol', '--password', 'carol-password'));
    const run = await admin('client:create', '--id', 'spa', '--grants', 'password,refresh_token', '--scopes', 'read write', '--access-ttl', '600');
    assertOk(run);
    const secret = /client secret \(shown once[^:]*\): (\S+)/.exec(run.stdout)?.[1];
    assert.ok(secret, run.stdout);
    const res = await tokenRequest(app, { grant_type: 'password', username: 'carol', password: 'carol-password' }, basic('spa', secret));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.expires_in <= 600);
    assert.equal(res.body.scope, 'read write');

    const list = await admin('client:list');
    assertOk(list);
    assert.match(list.stdout, /^spa\tgrants=password,refresh_token\tscopes=read,write\tdefault_scope=all\taccess_ttl=600\trefresh_ttl=default\tredirect_uris=-\taccess_token_format=opaque\tenabled$/m);
    assert.ok(!list.stdout.includes(secret), 'client:list shows no secret');
  });

  it('client:create with --secret prints no secret', async () => {
    const run = await admin('client:create', '--id', 'svc', '--secret', 'a-chosen-secret', '--grants', 'password');
    assertOk(run);
    assert.ok(!run.stdout.includes('a-chosen-secret'));
    assert.ok(!/secret/.test(run.stdout), run.stdout);
  });

  it('client:create refuses an unknown grant, a missing flag and a duplicate id', async () => {
    assertRefused(await admin('client:create', '--id', 'x', '--grants', 'password,implicit'), /unknown grant type implicit/);
    assertRefused(await admin('client:create', '--id', 'x'), /required option '--grants/);
    assertOk(await admin('client:create', '--id', 'dup', '--grants', 'password'));
    assertRefused(await admin('client:create', '--id', 'dup', '--grants', 'password'), /client dup already exists/);
    assertRefused(await admin('client:create', '--id', 'y', '--grants', 'password', '--access-ttl', '-5'), /whole seconds/);
  });

  it('client:delete removes the client and kills its tokens', async () => {
    assertOk(await admin('client:create', '--id', 'gone', '--secret', 'gone-secret', '--grants', 'password'));
    assertOk(await admin('user:create', '--username', 'dave', '--password', 'dave-password'));
    const { body } = await tokenRequest(app, { grant_type: 'password', username: 'dave', password: 'dave-password' }, basic('gone', 'gone-secret'));
    assertOk(await admin('client:delete', '--id', 'gone'));
    const me = await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${body.access_token}`);
    assert.equal(me.status, 401);
    assertRefused(await admin('client:delete', '--id', 'gone'), /no client gone/);
  });

  it('user:create refuses a duplicate username, a short password and a missing flag', async () => {
    assertOk(await admin('user:create', '--username', 'erin', '--password', 'erin-password', '--email', 'erin@example.com', '--roles', 'admin'));
    const [ row ] = await app.mysql.query('SELECT roles, email FROM users WHERE username = ?', [ 'erin' ]);
    assert.deepEqual(row, { roles: 'admin', email: 'erin@example.com' });
    assertRefused(await admin('user:create', '--username', 'erin', '--password', 'another-password'), /already exists/);
    assertRefused(await admin('user:create', '--username', 'frank', '--password', 'short'), /at least 8/);
    assertRefused(await admin('user:create', '--username', 'frank'), /required option '--password/);
  });

  it('user:create refuses a username that looks like an e-mail address or a phone number', async () => {
    assertRefused(await admin('user:create', '--username', 'kim@example.com', '--password', 'kim-password'), /username must not contain "@"/);
    for (const username of [ '13800138000', '+8613800138000' ]) {
      assertRefused(await admin('user:create', '--username', username, '--password', 'kim-password'), /username must not be a number/);
    }
    assertRefused(await admin('user:import', '--username', '18800000000', '--password-hash', bcrypt.hashSync('x', 4)), /username must not be a number/);
    const [{ count }] = await app.mysql.query('SELECT COUNT(*) AS count FROM users');
    assert.equal(count, 0);
  });

  it('user:create stores --phone as E.164 and refuses what is not a phone number or an e-mail address', async () => {
    assertOk(await admin('user:create', '--username', 'kim', '--password', 'kim-password', '--email', 'kim@example.com', '--phone', '138 0013 8000'));
    const [ row ] = await app.mysql.query('SELECT email, phone FROM users WHERE username = ?', [ 'kim' ]);
    assert.deepEqual(row, { email: 'kim@example.com', phone: '+8613800138000' });
    assertRefused(await admin('user:create', '--username', 'lee', '--password', 'lee-password', '--phone', '12345'), /phone 12345 is not a valid phone number/);
    assertRefused(await admin('user:create', '--username', 'lee', '--password', 'lee-password', '--email', 'lee-at-example'), /email lee-at-example is not an e-mail address/);
    assertRefused(await admin('user:create', '--username', 'lee', '--password', 'lee-password', '--phone', '+86 138 0013 8000'), /already exists/);
  });

  it('user:update sets and removes --email and --phone, and the user logs in by the new ones only', async () => {
    assertOk(await admin('client:create', '--id', 'web', '--secret', 'web-secret', '--grants', 'password'));
    assertOk(await admin('user:create', '--username', 'mia', '--password', 'mia-password', '--phone', '+8613800138000'));
    assertOk(await admin('user:create', '--username', 'ned', '--password', 'ned-password', '--email', 'ned@example.com'));
    const loginAs = (username: string) => tokenRequest(app, { grant_type: 'password', username, password: 'mia-password' }, basic('web', 'web-secret'));

    assertOk(await admin('user:update', '--username', 'mia', '--email', 'mia@example.com', '--phone', '13900139000'));
    const [ row ] = await app.mysql.query('SELECT email, phone FROM users WHERE username = ?', [ 'mia' ]);
    assert.deepEqual(row, { email: 'mia@example.com', phone: '+8613900139000' });
    assert.equal((await loginAs('mia@example.com')).status, 200);
    assert.equal((await loginAs('+8613900139000')).status, 200);
    assert.equal((await loginAs('+8613800138000')).status, 400, 'the old number no longer logs in');

    assertOk(await admin('user:update', '--username', 'mia', '--email', ''));
    const [ cleared ] = await app.mysql.query('SELECT email, phone FROM users WHERE username = ?', [ 'mia' ]);
    assert.deepEqual(cleared, { email: null, phone: '+8613900139000' });

    assertRefused(await admin('user:update', '--username', 'mia', '--email', 'ned@example.com'), /another user has this email or phone/);
    assertRefused(await admin('user:update', '--username', 'mia', '--phone', 'not a phone'), /not a valid phone number/);
    assertRefused(await admin('user:update', '--username', 'mia'), /nothing to change/);
    assertRefused(await admin('user:update', '--username', 'nobody', '--email', 'x@example.com'), /no user nobody/);
  });

  it('user:disable, user:enable and user:password take effect on login', async () => {
    assertOk(await admin('client:create', '--id', 'web', '--secret', 'web-secret', '--grants', 'password'));
    assertOk(await admin('user:create', '--username', 'gina', '--password', 'gina-password'));
    const loginAs = (password: string) => tokenRequest(app, { grant_type: 'password', username: 'gina', password }, basic('web', 'web-secret'));

    assertOk(await admin('user:disable', '--username', 'gina'));
    assert.equal((await loginAs('gina-password')).status, 400);
    assertOk(await admin('user:enable', '--username', 'gina'));
    assert.equal((await loginAs('gina-password')).status, 200);
    assertOk(await admin('user:password', '--username', 'gina', '--password', 'gina-new-password'));
    assert.equal((await loginAs('gina-password')).status, 400);
    assert.equal((await loginAs('gina-new-password')).status, 200);
    assertRefused(await admin('user:disable', '--username', 'nobody'), /no user nobody/);
  });

  it('client:create takes scopes, a default scope, lifetimes and the resource-server flag', async () => {
    assertOk(await admin('client:create', '--id', 'rs', '--secret', 'rs-secret-123', '--grants', 'client_credentials',
      '--scopes', 'read,write', '--default-scope', 'read', '--access-ttl', '300', '--refresh-ttl', '900', '--resource-server'));
    const list = await admin('client:list');
    assert.match(list.stdout, /^rs\tgrants=client_credentials\tscopes=read,write\tdefault_scope=read\taccess_ttl=300\trefresh_ttl=900\tredirect_uris=-\taccess_token_format=opaque\tenabled\tresource-server$/m);
    const res = await tokenRequest(app, { grant_type: 'client_credentials' }, basic('rs', 'rs-secret-123'));
    assert.equal(res.body.scope, 'read');
    assert.ok(res.body.expires_in <= 300);
    assertRefused(await admin('client:create', '--id', 'bad', '--grants', 'password', '--scopes', 'read', '--default-scope', 'admin'), /default scope admin is not within/);
  });

  it('user:sessions lists live logins, user:logout ends them all, client:disable kills a client\'s tokens', async () => {
    assertOk(await admin('client:create', '--id', 'web', '--secret', 'web-secret', '--grants', 'password,refresh_token'));
    assertOk(await admin('user:create', '--username', 'hank', '--password', 'hank-password'));
    const loginAs = () => tokenRequest(app, { grant_type: 'password', username: 'hank', password: 'hank-password' }, basic('web', 'web-secret'));
    const phone = (await loginAs()).body;
    await loginAs();
    const sessions = await admin('user:sessions', '--username', 'hank');
    assertOk(sessions);
    assert.equal(sessions.stdout.trim().split('\n').length, 2, sessions.stdout);
    assert.match(sessions.stdout, /^[0-9a-f]{32}\tclient=web\tsince=\S+Z\tlast_token=\S+Z\texpires=\S+Z$/m);

    const logout = await admin('user:logout', '--username', 'hank');
    assert.match(logout.stdout, /revoked 2 session\(s\) of hank/);
    const me = await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${phone.access_token}`);
    assert.equal(me.status, 401);
    assert.match((await admin('user:sessions', '--username', 'hank')).stdout, /no live sessions/);

    const again = (await loginAs()).body;
    // The server learns of the command line's changes through the revocation feed, within 250 ms.
    assertOk(await admin('client:disable', '--id', 'web'));
    await sleep(250);
    assert.equal((await loginAs()).status, 401);
    assertOk(await admin('client:enable', '--id', 'web'));
    await sleep(250);
    const stale = await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${again.access_token}`);
    assert.equal(stale.status, 401, 'enabling the client again does not revive its old tokens');
    assert.equal((await loginAs()).status, 200);
    assertRefused(await admin('user:logout', '--username', 'nobody'), /no user nobody/);
  });

  it('user:import takes a Spring bcrypt hash, which logs in and is upgraded to argon2id', async () => {
    assertOk(await admin('client:create', '--id', 'spring', '--secret', 'spring-secret', '--grants', 'password'));
    const hash = bcrypt.hashSync('imported password', 4);
    assertOk(await admin('user:import', '--username', 'ivan', '--password-hash', hash, '--roles', 'admin'));
    const res = await tokenRequest(app, { grant_type: 'password', username: 'ivan', password: 'imported password' }, basic('spring', 'spring-secret'));
    assert.equal(res.status, 200);
    const [ row ] = await app.mysql.query('SELECT password_hash FROM users WHERE username = ?', [ 'ivan' ]);
    assert.match(row.password_hash, /^\$argon2id\$/);
    assertRefused(await admin('user:import', '--username', 'judy', '--password-hash', 'plaintext'), /must be bcrypt/);
  });
});
