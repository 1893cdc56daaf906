/**
 * npm run bench: builds the app, starts it in production mode with egg-scripts on 127.0.0.1 against
 * its own database (oauth2_bench), seeds users and tokens, drives it with autocannon, prints one table
 * with the ratios the performance targets are stated in, writes the same as JSON, and stops what it
 * started. In the same run, on the same machine, it drives the same work on the peer (panva/oidc-provider,
 * see --peer-dir), `/health`'s counterpart on a bare egg app (bench/bare-egg) and the password grant's
 * on the bare login (bench/bareLogin.ts), one scenario on one server then the same on the next.
 *
 * Options: --duration s (10), --connections n (50), --workers 1,2 (the worker counts to compare on the
 * Bearer route; the peer is compared with the last), --tokens n (10000 token rows; 1000000 for the
 * lookup-scaling figure), --bearer-tokens n (1000: distinct tokens the Bearer scenarios cycle through),
 * --warmup s (2: unmeasured load before each scenario that has a counterpart), --rounds n (3: each
 * side-by-side comparison, the password grant against the raw argon2id rate included, is run n times,
 * ours and theirs in turn, and judged by the median of its ratios: the servers' own figures move by 2×
 * between runs on a shared machine), --revocation-trials n (20),
 * --peer-dir dir (../shared/peer-bench from the repository), --no-peer, --no-bare-egg, --no-bare-login,
 * --skip-build.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import argon2 from 'argon2';
import { RDSClient } from '@eggjs/rds';
import { databaseSettings } from '../config/database';
import { ensureDatabase, migrate } from '../app/infra/migrator';
import { OWASP_ARGON2ID, PasswordHasher } from '../app/core/password';
import { FORM, basicAuth, json, must, send } from './http';
import { type LoadSettings, type Row, type Scenario, type Setup, drive, measure } from './load';
import { pinnedConnections, primeEveryWorker } from './pinned';
import { type RevocationResult, revocationBound } from './revocation';
import { EggApp, ForkedServer, HOST, type ServerName, log, preparePeer } from './servers';

const ROOT = path.join(__dirname, '..');
const DATABASE = 'oauth2_bench';
/** Password, refresh and introspection: a resource server's client, as before. */
const CLIENT_ID = 'bench';
const CLIENT_SECRET = 'bench-client-secret';
const BASIC = basicAuth(CLIENT_ID, CLIENT_SECRET);
/** client_credentials: the peer's client, secret and scope, so that both servers issue the same token. */
const SERVICE_ID = 'bench-service';
const SERVICE_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const SERVICE_BASIC = basicAuth(SERVICE_ID, SERVICE_SECRET);
const SCOPE = 'api:read';
/** The peer's fixed client (bench.mjs). */
const PEER_BASIC = basicAuth('bench-client', 'bench-secret-0123456789abcdef0123456789abcdef');
const PASSWORD = 'bench-user-password';
const USERS = 1000;
const CLIENT_CREDENTIALS = `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}`;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    workers: { type: 'string', default: '1,2' },
    tokens: { type: 'string', default: '10000' },
    'bearer-tokens': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'revocation-trials': { type: 'string', default: '20' },
    'peer-dir': { type: 'string', default: path.join(ROOT, '..', 'shared', 'peer-bench') },
    'no-peer': { type: 'boolean', default: false },
    'no-bare-egg': { type: 'boolean', default: false },
    'no-bare-login': { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const WORKER_COUNTS = (args.workers ?? '1').split(',').map(Number);
const FIRST = WORKER_COUNTS[0];
const LAST = WORKER_COUNTS[WORKER_COUNTS.length - 1];
const BEARER_TOKENS = Number(args['bearer-tokens']);
const TOKEN_ROWS = Math.max(Number(args.tokens), BEARER_TOKENS);
const REVOCATION_TRIALS = Number(args['revocation-trials']);
const ROUNDS = Math.max(1, Number(args.rounds));
const LOAD: LoadSettings = { duration: DURATION, connections: CONNECTIONS, warmup: Number(args.warmup) };

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const token = () => randomBytes(32).toString('hex');
const logDir = (what: string) => mkdtempSync(path.join(os.tmpdir(), `oauth2-bench-${what}-`));
const env = {
  ...process.env,
  EGG_SERVER_ENV: 'prod',
  // Known secrets and a resource-server client: loopback only.
  HOST,
  MYSQL_DATABASE: DATABASE,
  APP_KEYS: 'bench-only-key',
  LOG_DIR: logDir('logs'),
};
const bareHome = logDir('bare-egg');

async function insertRows(db: RDSClient, table: string, columns: string[], rows: unknown[][]) {
  for (let i = 0; i < rows.length; i += 2000) {
    await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ?`, [ rows.slice(i, i + 2000) ]);
  }
}

/** Adds `count` access tokens (each its own grant) and returns the first `keep` plaintexts. */
async function seedTokens(db: RDSClient, clientPk: number, userIds: number[], count: number, keep: number, withRefresh: boolean): Promise<string[]> {
  const kept: string[] = [];
  const later = new Date(Date.now() + 24 * 3600 * 1000);
  for (let done = 0; done < count; done += 10000) {
    const grants: unknown[][] = [];
    const tokens: unknown[][] = [];
    for (let i = done; i < Math.min(count, done + 10000); i++) {
      const grantId = randomBytes(16).toString('hex');
      const userId = userIds[i % userIds.length];
      const value = token();
      if (kept.length < keep) kept.push(value);
      grants.push([ grantId, clientPk, userId ]);
      tokens.push([ grantId, sha256(value), later, withRefresh ? sha256(value + 'r') : null, withRefresh ? later : null, clientPk, userId, '' ]);
    }
    await insertRows(db, 'oauth_grants', [ 'id', 'client_id', 'user_id' ], grants);
    await insertRows(db, 'oauth_tokens', [ 'grant_id', 'access_token_hash', 'access_token_expires_at', 'refresh_token_hash', 'refresh_token_expires_at', 'client_id', 'user_id', 'scope' ], tokens);
  }
  return kept;
}

async function seed(db: RDSClient) {
  for (const table of [ 'oauth_tokens', 'oauth_grants', 'oauth_clients', 'users', 'auth_throttle' ]) {
    await db.query(`DELETE FROM ${table}`);
  }
  const hasher = new PasswordHasher(OWASP_ARGON2ID);
  const [ passwordHash, secretHash, serviceHash ] = await Promise.all([ hasher.hash(PASSWORD), hasher.hash(CLIENT_SECRET), hasher.hash(SERVICE_SECRET) ]);
  const client = await db.query(
    `INSERT INTO oauth_clients (client_id, secret_hash, grants, scopes, redirect_uris, resource_server)
      VALUES (?, ?, 'password refresh_token client_credentials', '', '', 1)`,
    [ CLIENT_ID, secretHash ],
  );
  await db.query(
    `INSERT INTO oauth_clients (client_id, secret_hash, grants, scopes, redirect_uris)
      VALUES (?, ?, 'client_credentials', ?, '')`,
    [ SERVICE_ID, serviceHash, SCOPE ],
  );
  const clientPk = Number(client.insertId);
  await insertRows(db, 'users', [ 'username', 'password_hash' ],
    Array.from({ length: USERS }, (_, i) => [ `user${i}`, passwordHash ]));
  const userIds = (await db.query('SELECT id FROM users ORDER BY id')).map((row: { id: number }) => Number(row.id));
  return { clientPk, userIds };
}

function cycle<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length];
}

const bearerOf = (next: () => string): Setup => req => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${next()}` } });

/**
 * The raw argon2id verification rate of this machine, with the app's parameters and threadpool, as a
 * row: as many verifications in flight as the threadpool has threads, for the scenarios' duration; the
 * CPU is this process's, per verification.
 */
async function argon2Row(round: number): Promise<Row> {
  const hash = await argon2.hash(PASSWORD, { type: argon2.argon2id, ...OWASP_ARGON2ID });
  const lanes = Number(process.env.UV_THREADPOOL_SIZE || 4);
  const times: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const until = started + DURATION * 1000;
  const lane = async () => {
    while (performance.now() < until) {
      const start = performance.now();
      await argon2.verify(hash, PASSWORD);
      times.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  times.sort((x, y) => x - y);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]);
  return {
    id: 'g', scenario: `g. argon2id verify (m=19 MiB, t=2, p=1), ${lanes} at a time`, server: 'raw argon2id', workers: 1,
    reqPerSec: Math.round(times.length / seconds), p50: at(0.5), p99: at(0.99), errors: 0, non2xx: 0, rssStartMiB: 0, rssMiB: 0,
    cpuPct: Math.round((used.user + used.system) / 1e4 / seconds), cpuUsPerReq: Math.round((used.user + used.system) / times.length), round,
  };
}

/** Milliseconds per token lookup by hash, the query of every Bearer check without cache. */
async function lookupMs(db: RDSClient, hashes: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  for (const hash of hashes) {
    await db.query(`SELECT t.id FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
      JOIN oauth_clients c ON c.id = t.client_id LEFT JOIN users u ON u.id = t.user_id WHERE t.access_token_hash = ?`, [ hash ]);
  }
  return Number(process.hrtime.bigint() - started) / 1e6 / hashes.length;
}

interface IssuedToken {
  access_token?: string;
  token_type?: string;
}

/** Each server's work, before any load: what the bench measures must be the real thing, answered right. */
async function checkOurs(base: string, bearerToken: string) {
  const health = await send(base, 'GET', '/health');
  must(health.status === 200, 'ours: GET /health -> 200', health);
  const me = await send(base, 'GET', '/api/currentUser', { headers: { authorization: `Bearer ${bearerToken}` } });
  must(me.status === 200, 'ours: GET /api/currentUser with a seeded token -> 200', me);
  const unknown = await send(base, 'GET', '/api/currentUser', { headers: { authorization: `Bearer ${token()}` } });
  must(unknown.status === 401, 'ours: GET /api/currentUser with an unknown token -> 401', unknown);
  const issued = await send(base, 'POST', '/oauth/token', { headers: { 'content-type': FORM, authorization: SERVICE_BASIC }, body: CLIENT_CREDENTIALS });
  const body = json<IssuedToken>(issued, 'ours: client_credentials');
  must(issued.status === 200 && typeof body.access_token === 'string' && body.token_type?.toLowerCase() === 'bearer',
    'ours: client_credentials -> 200 with a Bearer access token', issued);
  const wrong = await send(base, 'POST', '/oauth/token', { headers: { 'content-type': FORM, authorization: basicAuth(SERVICE_ID, 'wrong') }, body: CLIENT_CREDENTIALS });
  must(wrong.status === 401, 'ours: client_credentials with a wrong secret -> 401', wrong);
  const introspected = await send(base, 'POST', '/oauth/introspect', { headers: { 'content-type': FORM, authorization: BASIC }, body: `token=${bearerToken}&token_type_hint=access_token` });
  must(introspected.status === 200 && json<{ active?: boolean }>(introspected, 'ours: introspection').active === true,
    'ours: introspection of a seeded token -> active:true', introspected);
}

/** Checks the hello route; returns the CSRF cookie egg-security sets, which a returning client would send back. */
async function checkBareEgg(base: string): Promise<string> {
  const hello = await send(base, 'GET', '/');
  must(hello.status === 200 && hello.text === 'hello', 'bare egg: GET / -> 200 hello', hello);
  const cookie = hello.headers['set-cookie']?.map(line => line.split(';')[0]).find(pair => pair.startsWith('csrfToken='));
  must(cookie !== undefined, 'bare egg: GET / sets the csrfToken cookie (egg-security\'s default)', hello);
  return cookie as string;
}

/** The bare login answers a right login with a token, a wrong password with 400 and a wrong secret with 401. */
async function checkBareLogin(base: string) {
  const login = (authorization: string, password: string) => send(base, 'POST', '/oauth/token', {
    headers: { 'content-type': FORM, authorization }, body: `grant_type=password&username=user0&password=${password}`,
  });
  const issued = await login(BASIC, PASSWORD);
  must(issued.status === 200 && typeof json<IssuedToken>(issued, 'bare login').access_token === 'string', 'bare login: a right login -> 200 with an access token', issued);
  const wrong = await login(BASIC, 'wrong');
  must(wrong.status === 400, 'bare login: a wrong password -> 400', wrong);
  const stranger = await login(basicAuth(CLIENT_ID, 'wrong'), PASSWORD);
  must(stranger.status === 401, 'bare login: a wrong client secret -> 401', stranger);
}

async function mintPeerToken(base: string): Promise<string> {
  const issued = await send(base, 'POST', '/token', { headers: { 'content-type': FORM, authorization: PEER_BASIC }, body: CLIENT_CREDENTIALS });
  const body = json<IssuedToken>(issued, 'peer: POST /token');
  must(issued.status === 200 && typeof body.access_token === 'string', 'peer: POST /token client_credentials -> 200 with an access token', issued);
  return body.access_token as string;
}

/** Checks the peer's routes, then mints the tokens its Bearer and introspection scenarios cycle through. */
async function peerTokens(base: string, count: number): Promise<string[]> {
  const plain = await send(base, 'GET', '/plain');
  must(plain.status === 200, 'peer: GET /plain -> 200', plain);
  const first = await mintPeerToken(base);
  const resource = await send(base, 'GET', '/resource', { headers: { authorization: `Bearer ${first}` } });
  must(resource.status === 200, 'peer: GET /resource with its token -> 200', resource);
  const unknown = await send(base, 'GET', '/resource', { headers: { authorization: `Bearer ${token()}` } });
  must(unknown.status === 401, 'peer: GET /resource with an unknown token -> 401', unknown);
  const introspected = await send(base, 'POST', '/token/introspection', { headers: { 'content-type': FORM, authorization: PEER_BASIC }, body: `token=${first}&token_type_hint=access_token` });
  must(json<{ active?: boolean }>(introspected, 'peer: introspection').active === true, 'peer: introspection of its token -> active:true', introspected);
  const pool = [ first ];
  const lane = async () => {
    while (pool.length < count) pool.push(await mintPeerToken(base));
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return pool.slice(0, count);
}

interface Ratio {
  target: string;
  value: number;
  min?: number;
  max?: number;
  /** Why there is no value (a server that was skipped). */
  missing?: string;
}

async function main() {
  const started = Date.now();
  const loadavgStart = os.loadavg();
  if (!args['skip-build']) {
    log('compiling (npm run tsc)');
    execFileSync('npm', [ 'run', 'tsc' ], { cwd: ROOT, stdio: [ 'ignore', 'ignore', 'inherit' ] });
  }
  const settings = databaseSettings('prod', env);
  await ensureDatabase(settings);
  const db = new RDSClient(settings);
  await migrate(db, { info: () => undefined });
  log(`seeding ${DATABASE}: ${USERS} users, ${TOKEN_ROWS} access tokens, refresh tokens`);
  const { clientPk, userIds } = await seed(db);
  const bearerTokens = await seedTokens(db, clientPk, userIds, BEARER_TOKENS, BEARER_TOKENS, false);
  // Tokens of their own: each trial revokes one, and the load scenarios must not meet a revoked token.
  const revocationTokens = await seedTokens(db, clientPk, userIds, REVOCATION_TRIALS, REVOCATION_TRIALS, false);
  // Each refresh spends one: more than the refresh scenario can use, so that none is reused.
  const refreshCount = Math.max(20000, DURATION * 3000);
  const refreshSeeds = await seedTokens(db, clientPk, userIds, refreshCount, refreshCount, true);
  const refreshTokens = refreshSeeds.map(value => value + 'r');

  // Lookup time against table size: 10,000 rows, then the requested size.
  const probe = bearerTokens.slice(0, 2000).map(sha256);
  const small = await lookupMs(db, probe);
  let large = NaN;
  if (TOKEN_ROWS > BEARER_TOKENS + refreshCount) {
    log(`adding ${TOKEN_ROWS - BEARER_TOKENS - refreshCount} token rows`);
    await seedTokens(db, clientPk, userIds, TOKEN_ROWS - BEARER_TOKENS - refreshCount, 0, false);
    large = await lookupMs(db, probe);
  }
  const [{ n: tokenRows }] = await db.query('SELECT COUNT(*) AS n FROM oauth_tokens');

  // Titles unique to this run: stopping by title never reaches a server someone else started.
  const ours = new EggApp('ours', { title: `oauth2-server-bench-${process.pid}`, baseDir: ROOT, env, logDir: env.LOG_DIR });
  const bare = args['no-bare-egg'] ? undefined : new EggApp('bare egg', {
    title: `oauth2-bare-egg-bench-${process.pid}`,
    baseDir: path.join(ROOT, 'bench', 'bare-egg'),
    // The project's own egg, so that the floor is the same egg version with the same default plugins.
    framework: path.join(ROOT, 'node_modules', 'egg'),
    // egg's production root is the home folder; EGG_HOME (egg) and MOCK_HOME_DIR (egg-scripts) keep its logs here.
    env: { ...process.env, EGG_HOME: bareHome, MOCK_HOME_DIR: bareHome },
    logDir: bareHome,
  });
  let peer: ForkedServer | undefined;
  let peerNote = 'skipped (--no-peer)';
  let peerVersion = '';
  // (c)'s floor (bench/bareLogin.ts), forked when (c) is measured and stopped after it.
  const bareLogin = () => new ForkedServer('bare login', path.join(__dirname, 'bareLogin.ts'), {
    args: [ String(clientPk), CLIENT_ID, CLIENT_SECRET ], cwd: ROOT, env, execArgv: [ '-r', require.resolve('ts-node/register/transpile-only') ],
  });
  let floor: ForkedServer | undefined;
  const stopAll = () => Promise.all([ ours.stop(), bare?.stop(), peer?.stop(), floor?.stop() ]);
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping what the bench started`);
    stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const rows: Row[] = [];
  let revocation: RevocationResult | undefined;
  const nextUser = cycle(Array.from({ length: USERS }, (_, i) => `user${i}`));
  const nextBearer = cycle(bearerTokens);
  const nextRefresh = cycle(refreshTokens);
  const bearer = bearerOf(nextBearer);
  const ourForm = { 'content-type': FORM, authorization: BASIC };
  const passwordGrant: Setup = req => ({ ...req, body: `grant_type=password&username=${nextUser()}&password=${PASSWORD}` });

  // What each server runs for the work that is compared; the letter is the row's id on every server.
  const ourScenarios: Record<string, Scenario> = {
    a: { id: 'a', name: 'a. GET /health (no auth)', path: '/health', warmup: true },
    b: { id: 'b', name: 'b. GET /api/currentUser (Bearer)', path: '/api/currentUser', setupRequest: bearer, warmup: true },
    e: { id: 'e', name: 'e. introspection', path: '/oauth/introspect', method: 'POST', headers: ourForm, warmup: true,
      setupRequest: req => ({ ...req, body: `token=${nextBearer()}&token_type_hint=access_token` }) },
    h: { id: 'h', name: 'h. client_credentials issuance', path: '/oauth/token', method: 'POST', warmup: true,
      headers: { 'content-type': FORM, authorization: SERVICE_BASIC }, setupRequest: req => ({ ...req, body: CLIENT_CREDENTIALS }) },
  };
  let peerScenarios: Record<string, Scenario> = {};
  // egg-security's CSRF defence (a default plugin) makes a new secret and sets it as a cookie on every
  // request that comes without one, which costs more than the route: the floor is measured the way a
  // returning client meets it, with the cookie (a0, without it, for reference).
  const bareScenarios = (cookie: string): Scenario[] => [
    { id: 'a', name: 'a. GET / (hello)', path: '/', headers: { cookie }, warmup: true },
    { id: 'a0', name: 'a0. GET / (hello, no cookie: a new CSRF secret and Set-Cookie each time)', path: '/', warmup: true },
  ];

  /** The same work on our server, then on the peer, so that both see the same machine; ROUNDS times. */
  const sideBySide = async (id: string, workers: number) => {
    for (let round = 1; round <= ROUNDS; round++) {
      rows.push({ ...await measure(ours, ourScenarios[id], workers, LOAD), round });
      if (!peer || !peerScenarios[id]) continue;
      await peer.counters();
      const row = await measure(peer, peerScenarios[id], workers, LOAD);
      const counted = await peer.counters();
      // A 200 that says active:false is a wrong answer that autocannon counts as a success.
      if (id === 'e' && counted.introspectOther * 100 > counted.introspectActive) {
        row.failure ??= `peer: introspection answered ${counted.introspectOther} times not active:true (${counted.introspectActive} active)`;
      }
      rows.push({ ...row, round });
    }
  };

  try {
    if (args['no-peer']) {
      log('the peer was skipped (--no-peer)');
    } else {
      const prepared = preparePeer(args['peer-dir'] as string);
      if ('skipped' in prepared) {
        peerNote = `skipped: ${prepared.skipped}`;
        log(`the peer was skipped: ${prepared.skipped}`);
      } else {
        peer = new ForkedServer('peer', path.join(prepared.dir, 'bench.mjs'), {
          args: [ '--server' ], cwd: prepared.dir, env: { ...process.env, NODE_ENV: 'production' }, execArgv: [],
        });
        await peer.start();
        const pool = await peerTokens(peer.base, BEARER_TOKENS);
        const nextPeer = cycle(pool);
        const peerForm = { 'content-type': FORM, authorization: PEER_BASIC };
        peerScenarios = {
          a: { id: 'a', name: 'a. GET /plain (no auth)', path: '/plain', warmup: true },
          b: { id: 'b', name: 'b. GET /resource (Bearer)', path: '/resource', setupRequest: bearerOf(nextPeer), warmup: true },
          e: { id: 'e', name: 'e. POST /token/introspection', path: '/token/introspection', method: 'POST', headers: peerForm, warmup: true,
            setupRequest: req => ({ ...req, body: `token=${nextPeer()}&token_type_hint=access_token` }) },
          h: { id: 'h', name: 'h. POST /token client_credentials', path: '/token', method: 'POST', headers: peerForm, warmup: true,
            setupRequest: req => ({ ...req, body: CLIENT_CREDENTIALS }) },
        };
        peerVersion = JSON.parse(readFileSync(path.join(prepared.dir, 'node_modules', 'oidc-provider', 'package.json'), 'utf8')).version;
        peerNote = `oidc-provider ${peerVersion} (in-memory store, one process), copy in ${prepared.dir}`;
      }
    }

    for (const workers of WORKER_COUNTS) {
      await ours.start(workers);
      await bare?.start(workers);
      await sleep(1000);
      await checkOurs(ours.base, bearerTokens[0]);
      const bareCookie = bare ? await checkBareEgg(bare.base) : '';
      // Warm-up: JIT, pools, caches.
      await drive(ours, ourScenarios.a, { ...LOAD, connections: 10 }, 2);

      // /health against bare egg's hello, ROUNDS times in turn; a0 and the peer's /plain are for reference, once.
      for (let round = 1; round <= (bare ? ROUNDS : 1); round++) {
        rows.push({ ...await measure(ours, ourScenarios.a, workers, LOAD), round });
        if (bare) rows.push({ ...await measure(bare, bareScenarios(bareCookie)[0], workers, LOAD), round });
      }
      if (bare) rows.push(await measure(bare, bareScenarios(bareCookie)[1], workers, LOAD));
      if (peer && workers === LAST) rows.push(await measure(peer, peerScenarios.a, workers, LOAD));
      // Each worker has its own token cache: without this, the first pass over the tokens (a query each,
      // per worker) would be part of (b), which is meant to measure the cache's steady state.
      log(`priming the token cache: ${BEARER_TOKENS} tokens on each of ${workers} worker(s)`);
      const pinned = await pinnedConnections(ours.base, 8 * workers, ours.pids(), '/api/currentUser', { authorization: `Bearer ${bearerTokens[0]}` });
      try {
        await primeEveryWorker(ours.base, '/api/currentUser', bearerTokens, pinned);
      } finally {
        pinned.close();
      }
      if (workers === LAST) await sideBySide('b', workers);
      else rows.push(await measure(ours, ourScenarios.b, workers, LOAD));

      if (workers === FIRST) {
        // (c) against the raw rate measured right before and right after it, while our server idles, ROUNDS
        // times in turn like the other comparisons: measured minutes apart, the raw rate differed by more
        // than a quarter on this shared machine with nothing changed (README, Performance).
        // The bare login, the same work with nothing but what a login must do, in the same rounds.
        log('the password grant, the bare login and the raw argon2id verification rate, in turn');
        if (!args['no-bare-login']) {
          floor = bareLogin();
          await floor.start();
          await checkBareLogin(floor.base);
        }
        const grant: Scenario = { id: 'c', name: 'c. password grant', path: '/oauth/token', method: 'POST', headers: ourForm, setupRequest: passwordGrant, warmup: true };
        rows.push(await argon2Row(1));
        for (let round = 1; round <= ROUNDS; round++) {
          rows.push({ ...await measure(ours, grant, workers, LOAD), round });
          if (floor) rows.push({ ...await measure(floor, grant, workers, LOAD), round });
          rows.push(await argon2Row(round + 1));
        }
        await floor?.stop();
        rows.push(await measure(ours, {
          id: 'd', name: 'd. refresh grant', path: '/oauth/token', method: 'POST', headers: ourForm,
          setupRequest: req => ({ ...req, body: `grant_type=refresh_token&refresh_token=${nextRefresh()}` }),
        }, workers, LOAD));
        if (workers !== LAST) rows.push(await measure(ours, ourScenarios.e, workers, LOAD));
        const half = Math.max(1, CONNECTIONS / 2);
        const [ mixedBearer ] = await Promise.all([
          measure(ours, { id: 'f', name: 'f. (b) while (c) saturates', path: '/api/currentUser', setupRequest: bearer, connections: half }, workers, LOAD),
          drive(ours, { id: 'f-load', name: 'password grant', path: '/oauth/token', method: 'POST', headers: ourForm, setupRequest: passwordGrant, connections: half }, LOAD),
        ]);
        rows.push(mixedBearer);
      }
      if (workers === LAST) {
        await sideBySide('h', workers);
        await sideBySide('e', workers);
        if (workers >= 2 && REVOCATION_TRIALS > 0) {
          log(`revocation trials: ${REVOCATION_TRIALS}, ${workers} workers`);
          revocation = await revocationBound(ours.base, '/api/currentUser', revocationTokens, ours.pids(),
            value => send(ours.base, 'POST', '/oauth/revoke', { headers: ourForm, body: `token=${value}&token_type_hint=access_token` }),
            { trials: REVOCATION_TRIALS, connections: 16, streak: 5, timeoutMs: 3000 });
        }
      }
      await Promise.all([ ours.stop(), bare?.stop() ]);
    }
    await peer?.stop();
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.end();
    // The compiled .js would otherwise shadow the sources for `npm run admin`.
    if (!args['skip-build']) execFileSync('npm', [ 'run', 'clean' ], { cwd: ROOT, stdio: 'ignore' });
  }
  const loadavgEnd = os.loadavg();

  const get = (id: string, workers = FIRST, server: ServerName = 'ours') => rows.find(r => r.id === id && r.workers === workers && r.server === server);
  const a = get('a');
  const b = get('b');
  const f = get('f');
  const b2 = WORKER_COUNTS.length > 1 ? get('b', LAST) : undefined;
  /** The median of items sorted by their ratio: the lower middle one for an even count. */
  const middle = <T>(sorted: T[]): T | undefined => sorted[Math.floor((sorted.length - 1) / 2)];
  /** What a target's line says of its rounds, from their ratios sorted. */
  const spreadOf = (ratios: number[]) => (ratios.length > 1 ? ` (median of ${ratios.length} rounds: ${ratios.map(x => x.toFixed(2)).join(', ')})` : '');
  /**
   * The rounds of one comparison, ours against theirs, and the round whose ratio is the median (the
   * lower middle one for an even count); rows measured once pair with every round of the other side.
   */
  const rounds = (id: string, theirId: string, workers: number, other: ServerName) => {
    const of = (wanted: string, server: ServerName) => rows.filter(r => r.id === wanted && r.workers === workers && r.server === server);
    const mine = of(id, 'ours');
    const theirs = of(theirId, other);
    const pairs = mine.flatMap(m => {
      const t = theirs.find(row => row.round === m.round) ?? (theirs.length === 1 ? theirs[0] : undefined);
      return t ? [{ mine: m, theirs: t, ratio: m.reqPerSec / t.reqPerSec }] : [];
    }).sort((x, y) => x.ratio - y.ratio);
    return { pairs, median: middle(pairs) };
  };
  /** Ours / theirs for the same work: the median of the rounds; `missing` says why when a server was skipped. */
  const versus = (target: string, id: string, workers: number, other: ServerName, min?: number): Ratio => {
    const { pairs, median } = rounds(id, id, workers, other);
    const skipped = other === 'peer' ? peerNote : other === 'bare login' ? 'skipped (--no-bare-login)' : 'skipped (--no-bare-egg)';
    return { target: `${target}${spreadOf(pairs.map(p => p.ratio))}`, value: median ? median.ratio : NaN, min, missing: median ? undefined : skipped };
  };
  /** Each round of (c) on a server against the mean of the raw rates measured right before and right after it: the median. */
  const passwordVersusRaw = (server: ServerName, target: string, min?: number): Ratio => {
    const raw = (round: number) => rows.find(r => r.id === 'g' && r.round === round)?.reqPerSec ?? NaN;
    const ratios = rows.filter(r => r.id === 'c' && r.server === server && r.round)
      .map(r => r.reqPerSec / ((raw(r.round as number) + raw(r.round as number + 1)) / 2))
      .sort((x, y) => x - y);
    return { target: `${target}${spreadOf(ratios)}`, value: middle(ratios) ?? NaN, min, missing: ratios.length > 0 ? undefined : server === 'bare login' ? 'skipped (--no-bare-login)' : 'not measured' };
  };
  // The performance issue's targets have a bound; the figures it asks to see without one are "reported".
  const ratioList: Ratio[] = [
    passwordVersusRaw('ours', '(c)/(g) >= 0.9: password grant vs raw argon2id verifies, the mean of right before and right after', 0.9),
    passwordVersusRaw('bare login', '(c) bare login / (g), reported: the same for the least a login does (no framework, engine or throttle)'),
    versus('(c) ours / bare login, reported: what egg, the engine and the throttle cost a login', 'c', FIRST, 'bare login'),
    { target: '(f).p99/(b).p99 <= 3: Bearer p99 under login load', value: f && b ? f.p99 / Math.max(b.p99, 1) : NaN, max: 3 },
    { target: '(b)/(a), reported: Bearer check vs no auth', value: b && a ? b.reqPerSec / a.reqPerSec : NaN },
    ...Number.isNaN(large) ? [] : [{ target: `lookup at ${tokenRows} rows / at ${BEARER_TOKENS + refreshCount} rows, reported`, value: large / small }],
    ...(b2 && b ? [{ target: `(b) ${b2.workers} workers / 1 worker, reported`, value: b2.reqPerSec / b.reqPerSec }] : []),
    // The Bearer scenario runs on a warm worker ((a) and a warm-up came first): its RSS should hold.
    ...(b ? [{ target: `worker RSS at the end / start of (b), ${DURATION} s, reported`, value: b.rssMiB / Math.max(b.rssStartMiB, 1) }] : []),
    versus(`(b) ours / peer >= 0.5: Bearer route, ${LAST} worker(s)`, 'b', LAST, 'peer', 0.5),
    versus(`(h) ours / peer >= 0.35: client_credentials issuance, ${LAST} worker(s)`, 'h', LAST, 'peer', 0.35),
    versus(`(e) ours / peer >= 0.5: introspection, ${LAST} worker(s)`, 'e', LAST, 'peer', 0.5),
    ...WORKER_COUNTS.map(workers => versus(`(a) /health / bare egg hello >= 0.8, ${workers} worker(s)`, 'a', workers, 'bare egg', 0.8)),
    revocation
      ? { target: `revocation refused by every worker, max of ${revocation.trialsMs.length} trials <= 250 ms (${LAST} workers)`, value: revocation.maxMs, max: 250 }
      : { target: 'revocation refused by every worker <= 250 ms', value: NaN, missing: 'not measured (needs --workers ending in 2 or more, --revocation-trials > 0)' },
    ...(revocation ? [{ target: `revocation refused by every worker, p95 of ${revocation.trialsMs.length} trials <= 250 ms`, value: revocation.p95Ms, max: 250 }] : []),
  ];
  const ratios = ratioList.map(r => ({
    ...r,
    value: Math.round(r.value * 100) / 100,
    met: Number.isNaN(r.value) || (r.min === undefined && r.max === undefined) ? null : r.min !== undefined ? r.value >= r.min : r.value <= (r.max ?? Infinity),
  }));
  const comparisons = [
    ...[ 'b', 'h', 'e', 'a' ].map(id => ({ id, theirId: id, workers: LAST, other: 'peer' as ServerName })),
    ...WORKER_COUNTS.flatMap(workers => [ 'a', 'a0' ].map(theirId => ({ id: 'a', theirId, workers, other: 'bare egg' as ServerName }))),
    { id: 'c', theirId: 'c', workers: FIRST, other: 'bare login' as ServerName },
  ].flatMap(({ id, theirId, workers, other }) => {
    const { median } = rounds(id, theirId, workers, other);
    return median ? [ median ] : [];
  });
  const load = (xs: number[]) => xs.map(x => x.toFixed(2)).join(' ');
  const table = [
    '| scenario | server | workers | req/s | p50 ms | p99 ms | errors | non-2xx | server CPU % | CPU µs/req | RSS MiB (start → end) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(r => `| ${r.failure ? '**FAILED** ' : ''}${r.scenario}${r.round ? ` (round ${r.round})` : ''} | ${r.server} | ${r.server === 'peer' || r.server === 'bare login' ? '1 process' : r.server === 'raw argon2id' ? 'the bench' : r.workers} | ${r.reqPerSec} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} | ${r.cpuPct} | ${r.cpuUsPerReq} | ${r.server === 'raw argon2id' ? '-' : `${r.rssStartMiB} → ${r.rssMiB}`} |`),
    '',
    ...comparisons.length === 0 ? [] : [
      `| work${ROUNDS > 1 ? ` (the round with the median ratio of ${ROUNDS})` : ''} | workers | ours: req/s | p99 ms | CPU µs/req | against | req/s | p99 ms | CPU µs/req | ours / theirs |`,
      '|---|---|---|---|---|---|---|---|---|---|',
      ...comparisons.map(({ mine, theirs }) => `| ${mine.scenario} | ${mine.workers} | ${mine.reqPerSec} | ${mine.p99} | ${mine.cpuUsPerReq} | ${theirs.server}${theirs.server === 'peer' || theirs.server === 'bare login' ? ' (1 process)' : ''}: ${theirs.scenario.replace(/^\w+\. /, '')} | ${theirs.reqPerSec} | ${theirs.p99} | ${theirs.cpuUsPerReq} | ${(mine.reqPerSec / theirs.reqPerSec).toFixed(2)} |`),
      '',
    ],
    '| target | measured | met |',
    '|---|---|---|',
    ...ratios.map(r => `| ${r.target} | ${r.missing ?? r.value} | ${r.met === null ? '-' : r.met ? 'yes' : 'no'} |`),
    '',
    revocation
      ? `Revocation (${revocation.trialsMs.length} trials, ${revocation.settings.connections} connections on ${revocation.workersCovered ?? '? (no ss)'} workers, ${revocation.settings.streak} 401s in a row on each): median ${revocation.medianMs} ms, p95 ${revocation.p95Ms} ms, max ${revocation.maxMs} ms${revocation.timedOut ? `, ${revocation.timedOut} not refused everywhere within ${revocation.settings.timeoutMs} ms` : ''}.`
      : 'Revocation: not measured.',
    Number.isNaN(large)
      ? `Token lookup: ${small.toFixed(3)} ms at ${tokenRows} rows (run with --tokens 1000000 for the scaling figure).`
      : `Token lookup: ${small.toFixed(3)} ms at ${BEARER_TOKENS + refreshCount} rows, ${large.toFixed(3)} ms at ${tokenRows} rows.`,
    `Peer: ${peerNote}. Bare egg: ${bare ? `bench/bare-egg on egg ${JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'egg', 'package.json'), 'utf8')).version}` : 'skipped (--no-bare-egg)'}.`,
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}; ${DURATION} s per scenario (+${LOAD.warmup} s warm-up where compared), ${CONNECTIONS} connections, ${BEARER_TOKENS} distinct Bearer tokens; load average ${load(loadavgStart)} at the start, ${load(loadavgEnd)} at the end; ran ${Math.round((Date.now() - started) / 1000)} s.`,
  ].join('\n');
  console.log(table);
  const outDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({
    date: new Date().toISOString(),
    options: { DURATION, CONNECTIONS, WORKER_COUNTS, TOKEN_ROWS, BEARER_TOKENS, WARMUP: LOAD.warmup, ROUNDS, REVOCATION_TRIALS },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model.trim(), node: process.version, loadavgStart, loadavgEnd },
    peer: peerNote, rows, lookupMs: { small, large, tokenRows }, ratios, revocation,
  }, null, 2));
  log(`wrote ${path.relative(ROOT, out)}`);
  const failures = rows.flatMap(r => (r.failure ? [ r.failure ] : []));
  if (failures.length > 0) {
    for (const failure of failures) console.error(`SANITY CHECK FAILED: ${failure}`);
    process.exitCode = 1;
  }
}

main().catch(err => {
  console.error(err);
  process.exitCode = 1;
});
