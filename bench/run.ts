/**
 * npm run bench: builds the app, starts it in production mode with egg-scripts on 127.0.0.1 against
 * its own database (oauth2_bench), seeds users and tokens, drives it with autocannon, prints one table
 * with the ratios the performance targets are stated in, writes the same as JSON, and stops what it
 * started. Options: --duration s (10), --connections n (50), --workers 1,2 (the worker counts to
 * compare on the Bearer route), --tokens n (10000 token rows; 1000000 for the lookup-scaling figure),
 * --bearer-tokens n (1000: distinct tokens the Bearer scenarios cycle through), --skip-build.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import argon2 from 'argon2';
import autocannon from 'autocannon';
import { RDSClient } from '@eggjs/rds';
import { databaseSettings } from '../config/database';
import { ensureDatabase, migrate } from '../app/infra/migrator';
import { OWASP_ARGON2ID, PasswordHasher } from '../app/core/password';

const ROOT = path.join(__dirname, '..');
const TITLE = 'oauth2-server-bench';
const HOST = '127.0.0.1';
const PORT = 7101;
const BASE = `http://${HOST}:${PORT}`;
const DATABASE = 'oauth2_bench';
const CLIENT_ID = 'bench';
const CLIENT_SECRET = 'bench-client-secret';
const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const PASSWORD = 'bench-user-password';
const USERS = 1000;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    workers: { type: 'string', default: '1,2' },
    tokens: { type: 'string', default: '10000' },
    'bearer-tokens': { type: 'string', default: '1000' },
    'skip-build': { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const WORKER_COUNTS = (args.workers ?? '1').split(',').map(Number);
const BEARER_TOKENS = Number(args['bearer-tokens']);
const TOKEN_ROWS = Math.max(Number(args.tokens), BEARER_TOKENS);

interface Row {
  scenario: string;
  workers: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Worker RSS when the scenario started and when it ended. */
  rssStartMiB: number;
  rssMiB: number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const token = () => randomBytes(32).toString('hex');
const env = {
  ...process.env,
  EGG_SERVER_ENV: 'prod',
  // Known secrets and a resource-server client: loopback only.
  HOST,
  MYSQL_DATABASE: DATABASE,
  APP_KEYS: 'bench-only-key',
  LOG_DIR: mkdtempSync(path.join(os.tmpdir(), 'oauth2-bench-logs-')),
};

function log(message: string) {
  process.stderr.write(`[bench] ${message}\n`);
}

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
  const [ passwordHash, secretHash ] = await Promise.all([ hasher.hash(PASSWORD), hasher.hash(CLIENT_SECRET) ]);
  const client = await db.query(
    `INSERT INTO oauth_clients (client_id, secret_hash, grants, scopes, redirect_uris, resource_server)
      VALUES (?, ?, 'password refresh_token client_credentials', '', '', 1)`,
    [ CLIENT_ID, secretHash ],
  );
  const clientPk = Number(client.insertId);
  await insertRows(db, 'users', [ 'username', 'password_hash' ],
    Array.from({ length: USERS }, (_, i) => [ `user${i}`, passwordHash ]));
  const userIds = (await db.query('SELECT id FROM users ORDER BY id')).map((row: { id: number }) => Number(row.id));
  return { clientPk, userIds };
}

function workerPids(): number[] {
  try {
    return execFileSync('pgrep', [ '-f', `app_worker.js.*${TITLE}` ], { encoding: 'utf8' }).trim().split('\n')
      .map(Number)
      .filter(Boolean);
  } catch {
    return [];
  }
}

function workerRssMiB(): number {
  const pids = workerPids();
  if (pids.length === 0) return 0;
  const out = execFileSync('ps', [ '-o', 'rss=', '-p', pids.join(',') ], { encoding: 'utf8' });
  return Math.round(out.trim().split('\n').reduce((sum, kb) => sum + Number(kb), 0) / 1024);
}

function npx(...argv: string[]) {
  execFileSync('npx', argv, { cwd: ROOT, env, stdio: [ 'ignore', 'ignore', 'inherit' ] });
}

async function startServer(workers: number) {
  log(`starting the production app with ${workers} worker(s) on ${BASE}`);
  npx('egg-scripts', 'start', '--daemon', `--title=${TITLE}`, `--port=${PORT}`, `--workers=${workers}`, '--env=prod',
    `--stdout=${env.LOG_DIR}/master-stdout.log`, `--stderr=${env.LOG_DIR}/master-stderr.log`);
}

function stopServer() {
  npx('egg-scripts', 'stop', `--title=${TITLE}`);
}

type Setup = (req: autocannon.Request) => autocannon.Request;

async function drive(title: string, opts: { path: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; setupRequest?: Setup; connections?: number }): Promise<[autocannon.Result, number]> {
  const rssStart = workerRssMiB();
  const result = await autocannon({
    title,
    url: BASE,
    connections: opts.connections ?? CONNECTIONS,
    duration: DURATION,
    requests: [{
      method: opts.method ?? 'GET',
      path: opts.path,
      headers: opts.headers,
      ...opts.setupRequest ? { setupRequest: opts.setupRequest } : {},
    }],
  });
  return [ result, rssStart ];
}

function row(scenario: string, workers: number, [ result, rssStartMiB ]: [autocannon.Result, number]): Row {
  return {
    scenario,
    workers,
    reqPerSec: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    rssStartMiB,
    rssMiB: workerRssMiB(),
  };
}

function cycle<T>(items: T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length];
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', authorization: BASIC };

/** The raw argon2id verification rate of this machine, with the app's parameters and threadpool. */
async function argon2Rate(): Promise<number> {
  const hash = await argon2.hash(PASSWORD, { type: argon2.argon2id, ...OWASP_ARGON2ID });
  const until = Date.now() + DURATION * 1000;
  let count = 0;
  const lane = async () => {
    while (Date.now() < until) {
      await argon2.verify(hash, PASSWORD);
      count++;
    }
  };
  const lanes = Number(process.env.UV_THREADPOOL_SIZE || 4);
  await Promise.all(Array.from({ length: lanes }, lane));
  return count / DURATION;
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

async function main() {
  const started = Date.now();
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

  const rows: Row[] = [];
  const extra: Record<string, number> = {};
  const nextUser = cycle(Array.from({ length: USERS }, (_, i) => `user${i}`));
  const nextBearer = cycle(bearerTokens);
  const nextRefresh = cycle(refreshTokens);
  const bearer: Setup = req => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${nextBearer()}` } });
  const passwordGrant: Setup = req => ({ ...req, body: `grant_type=password&username=${nextUser()}&password=${PASSWORD}` });

  try {
    for (const workers of WORKER_COUNTS) {
      await startServer(workers);
      await sleep(1000);
      // Warm-up: JIT, pools, caches.
      await autocannon({ url: `${BASE}/health`, connections: 10, duration: 2 });
      rows.push(row('a. GET /health (no auth)', workers, await drive('a', { path: '/health' })));
      rows.push(row('b. GET /api/currentUser (Bearer)', workers, await drive('b', { path: '/api/currentUser', setupRequest: bearer })));
      if (workers !== WORKER_COUNTS[0]) {
        stopServer();
        continue;
      }
      rows.push(row('c. password grant', workers, await drive('c', { path: '/oauth/token', method: 'POST', headers: FORM, setupRequest: passwordGrant })));
      rows.push(row('d. refresh grant', workers, await drive('d', {
        path: '/oauth/token', method: 'POST', headers: FORM,
        setupRequest: req => ({ ...req, body: `grant_type=refresh_token&refresh_token=${nextRefresh()}` }),
      })));
      rows.push(row('e. introspection', workers, await drive('e', {
        path: '/oauth/introspect', method: 'POST', headers: FORM,
        setupRequest: req => ({ ...req, body: `token=${nextBearer()}` }),
      })));
      const [ mixedBearer ] = await Promise.all([
        drive('f', { path: '/api/currentUser', setupRequest: bearer, connections: Math.max(1, CONNECTIONS / 2) }),
        drive('f-load', { path: '/oauth/token', method: 'POST', headers: FORM, setupRequest: passwordGrant, connections: Math.max(1, CONNECTIONS / 2) }),
      ]);
      rows.push(row('f. (b) while (c) saturates', workers, mixedBearer));
      stopServer();
    }
    log('measuring the raw argon2id verification rate');
    extra.argon2VerifyPerSec = Math.round(await argon2Rate());
  } finally {
    if (workerPids().length > 0) stopServer();
    await db.end();
    // The compiled .js would otherwise shadow the sources for `npm run admin`.
    if (!args['skip-build']) execFileSync('npm', [ 'run', 'clean' ], { cwd: ROOT, stdio: 'ignore' });
  }

  const get = (prefix: string, workers = WORKER_COUNTS[0]) => rows.find(r => r.scenario.startsWith(prefix) && r.workers === workers);
  const a = get('a.');
  const b = get('b.');
  const c = get('c.');
  const f = get('f.');
  const b2 = WORKER_COUNTS.length > 1 ? get('b.', WORKER_COUNTS[WORKER_COUNTS.length - 1]) : undefined;
  const ratios = [
    { target: '(b)/(a) >= 0.85: Bearer check vs no auth', value: b && a ? b.reqPerSec / a.reqPerSec : NaN, min: 0.85 },
    { target: '(c)/(g) >= 0.9: password grant vs raw argon2id verifies', value: c ? c.reqPerSec / extra.argon2VerifyPerSec : NaN, min: 0.9 },
    { target: '(f).p99/(b).p99 <= 3: Bearer p99 under login load', value: f && b ? f.p99 / Math.max(b.p99, 1) : NaN, max: 3 },
    ...Number.isNaN(large) ? [] : [{ target: `lookup at ${tokenRows} rows / at ${BEARER_TOKENS + refreshCount} rows <= 1.2`, value: large / small, max: 1.2 }],
    ...(b2 && b ? [{ target: `(b) ${b2.workers} workers / 1 worker >= 1.6`, value: b2.reqPerSec / b.reqPerSec, min: 1.6 }] : []),
    // The Bearer scenario runs on a warm worker ((a) and a warm-up came first): its RSS should hold.
    ...(b ? [{ target: `worker RSS at the end / start of (b), ${DURATION} s <= 1.1`, value: b.rssMiB / Math.max(b.rssStartMiB, 1), max: 1.1 }] : []),
  ].map(r => ({ ...r, value: Math.round(r.value * 100) / 100, met: ('min' in r && r.min !== undefined) ? r.value >= r.min : r.value <= (r.max ?? Infinity) }));

  const table = [
    '| scenario | workers | req/s | p50 ms | p99 ms | errors | non-2xx | worker RSS MiB (start → end) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(r => `| ${r.scenario} | ${r.workers} | ${r.reqPerSec} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} | ${r.rssStartMiB} → ${r.rssMiB} |`),
    `| g. argon2id verify (m=19 MiB, t=2, p=1), ${process.env.UV_THREADPOOL_SIZE || 4} threads | - | ${extra.argon2VerifyPerSec} | | | | | |`,
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...ratios.map(r => `| ${r.target} | ${r.value} | ${r.met ? 'yes' : 'no'} |`),
    '',
    Number.isNaN(large)
      ? `Token lookup: ${small.toFixed(3)} ms at ${tokenRows} rows (run with --tokens 1000000 for the scaling figure).`
      : `Token lookup: ${small.toFixed(3)} ms at ${BEARER_TOKENS + refreshCount} rows, ${large.toFixed(3)} ms at ${tokenRows} rows.`,
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}; ${DURATION} s per scenario, ${CONNECTIONS} connections, ${BEARER_TOKENS} distinct Bearer tokens; ran ${Math.round((Date.now() - started) / 1000)} s.`,
  ].join('\n');
  console.log(table);
  const outDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), options: { DURATION, CONNECTIONS, WORKER_COUNTS, TOKEN_ROWS, BEARER_TOKENS }, rows, extra, lookupMs: { small, large, tokenRows }, ratios }, null, 2));
  log(`wrote ${path.relative(ROOT, out)}`);
}

main().catch(err => {
  console.error(err);
  try {
    stopServer();
  } catch {
    // nothing was started
  }
  process.exitCode = 1;
});
