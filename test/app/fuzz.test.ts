import { strict as assert } from 'node:assert';
import type http from 'node:http';
import net from 'node:net';
import { app } from 'egg-mock/bootstrap';
import fc from 'fast-check';
import qs from 'qs';
import { CLIENT, USER, basic, closeServer, createClient, createUser, serveOnLoopback } from '../helpers';

const SEED = 20261122;
const RUNS = 2000;
const CONCURRENCY = 20;
const PATHS = [ '/oauth/token', '/api/user/token', '/api/currentUser', '/oauth/revoke', '/oauth/introspect' ];

interface RawRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Header values without CR/LF: framing attacks are the HTTP parser's business, not this test's. */
const headerText = fc.string({ unit: 'binary', maxLength: 200 }).map(s => s.replace(/[\r\n\0]/g, ''));

const authorization = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map(bytes => `Basic ${Buffer.from(bytes).toString('base64')}`),
  headerText.map(s => `Basic ${s}`),
  headerText.map(s => `Basic ${Buffer.from(s).toString('base64')}`),
  fc.constant(basic(CLIENT.clientId, CLIENT.secret)),
  headerText.map(s => `Bearer ${s}`),
  fc.uint8Array({ maxLength: 40 }).map(bytes => `bearer ${Buffer.from(bytes).toString('hex')}`),
  headerText,
  fc.constant(''),
);

const nested: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 })),
})).value;

const body = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map(bytes => Buffer.from(bytes)),
  fc.string({ unit: 'grapheme', maxLength: 500 }).map(s => Buffer.from(s)),
  // Form bodies with broken percent-encoding.
  fc.array(fc.constantFrom('grant_type=password', 'username=', 'password=', '%ZZ', '%E0%A4%A', '&&', '=', '%00', 'a[b][c][d][e][f]=1', `username=${USER.username}`, 'grant_type[]=x'), { maxLength: 12 })
    .map(parts => Buffer.from(parts.join('&'))),
  // Nested qs parameters, as qs.stringify builds them.
  fc.dictionary(fc.constantFrom('grant_type', 'username', 'password', 'client_id', 'client_secret', 'token', 'scope', 'refresh_token'), nested, { maxKeys: 6 })
    .map(params => Buffer.from(qs.stringify(params))),
  fc.jsonValue().map(v => Buffer.from(JSON.stringify(v))),
);

const request: fc.Arbitrary<RawRequest> = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'),
  path: fc.oneof(fc.constantFrom(...PATHS), fc.tuple(fc.constantFrom(...PATHS), fc.string({ maxLength: 40 })).map(([ p, q ]) => `${p}?${encodeURIComponent(q)}=${encodeURIComponent(q)}`)),
  headers: fc.tuple(
    fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=latin1', ''),
    authorization,
    // A large but legal header (Node's limit is 16 kB for all of them).
    fc.nat({ max: 8000 }),
  ).map(([ type, auth, padding ]) => {
    const headers: Array<[string, string]> = [[ 'Content-Type', type ], [ 'Authorization', auth ]];
    if (padding > 0) headers.push([ 'X-Padding', 'p'.repeat(padding) ]);
    return headers;
  }),
  body,
});

/** Sends the bytes as they are (no client library would send most of these) and reads the status. */
function send(port: number, req: RawRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no answer within 5 s: ${req.method} ${req.path}`));
    });
    socket.on('data', chunk => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      if (status) resolve(Number(status[1]));
      else reject(new Error(`no status line: ${req.method} ${req.path} ${JSON.stringify(req.headers.map(([ n, v ]) => [ n, v.slice(0, 80) ]))} got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`));
    });
    const head = [
      `${req.method} ${req.path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      `Content-Length: ${req.body.length}`,
      ...req.headers.filter(([ , value ]) => value !== '').map(([ name, value ]) => `${name}: ${value}`),
    ].join('\r\n');
    // write(), not end(): a half-closed socket may be closed before the answer is written.
    socket.write(Buffer.concat([ Buffer.from(`${head}\r\n\r\n`, 'latin1'), req.body ]));
  });
}

describe('fuzzing the token endpoint and a Bearer route', function() {
  this.timeout(180000);
  let server: http.Server;
  let port: number;

  before(async () => {
    ({ server } = await serveOnLoopback(app.callback()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => closeServer(server));

  it(`answers ${RUNS} malformed requests (seed ${SEED}) without a 5xx or a hang, and still works after`, async () => {
    await createClient(app);
    await createUser(app);
    const requests = fc.sample(request, { seed: SEED, numRuns: RUNS });
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const req = requests[next++];
        const status = await send(port, req);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.ok(status < 500, `${status} for ${req.method} ${req.path} ${JSON.stringify(req.headers.map(([ n, v ]) => [ n, v.slice(0, 80) ]))} body ${req.body.toString('hex').slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.equal([ ...statuses.values() ].reduce((a, b) => a + b, 0), RUNS);
    // The requests reached the app's own handlers, not only the HTTP parser.
    assert.ok(statuses.has(400) && statuses.has(401), JSON.stringify([ ...statuses ]));

    // The server still answers correctly (from a client IP the fuzzing did not get throttled).
    const login = await app.httpRequest().post('/oauth/token')
      .set('Authorization', basic(CLIENT.clientId, CLIENT.secret))
      .set('X-Forwarded-For', '10.200.0.1')
      .type('form')
      .send({ grant_type: 'password', username: USER.username, password: USER.password });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const me = await app.httpRequest().get('/api/currentUser').set('Authorization', `Bearer ${login.body.access_token}`);
    assert.equal(me.status, 200);
  });
});
