/**
 * The password grant's floor, "bare login": the least any password login on this machine does, in
 * one process with no framework, no OAuth engine and no throttle. A node:http server that reads the
 * form and the client's Basic credentials (the secret compared by SHA-256, as the server does once it
 * has verified a secret), finds the user by username, verifies the password with the app's own
 * PasswordHasher (argon2id, as many at once as one worker of the server hashes: the host's CPUs), and
 * commits the grant and its tokens with the app's own one CALL (TokenRepository.saveToken) before it
 * answers. What the server spends beyond it (egg, the engine, the throttle's statements, the audit
 * line) is what the bench's (c) ours / bare login shows.
 *
 * Forked by the bench (ForkedServer): `bareLogin.ts <client pk> <client id> <client secret>`, the
 * database from the same MYSQL_* settings; says `{ type: 'ready', port }` over IPC and stops on 'stop'.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import auth from 'basic-auth';
import { RDSClient } from '@eggjs/rds';
import { databaseSettings } from '../config/database';
import { OWASP_ARGON2ID, PasswordHasher } from '../app/core/password';
import { generateGrantId, generateToken, hashToken } from '../app/core/token';
import { TokenRepository } from '../app/repository/TokenRepository';
import { UserRepository } from '../app/repository/UserRepository';

const ACCESS_TOKEN_SECONDS = 3600;
const REFRESH_TOKEN_SECONDS = 14 * 24 * 3600;

const [ clientPk, clientId, clientSecret ] = process.argv.slice(2);
const secretDigest = createHash('sha256').update(clientSecret ?? '').digest();
const db = new RDSClient(databaseSettings('prod'));
const users = new UserRepository(db);
const tokens = new TokenRepository(db);
const hasher = new PasswordHasher(OWASP_ARGON2ID, availableParallelism());
hasher.warmUp().catch(err => process.stderr.write(`bare login: ${(err as Error).stack}\n`));

function answer(res: http.ServerResponse, status: number, body: object) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' });
  res.end(JSON.stringify(body));
}

function clientMatches(req: http.IncomingMessage): boolean {
  const given = auth(req);
  return given?.name === clientId && timingSafeEqual(createHash('sha256').update(given.pass).digest(), secretDigest);
}

async function login(req: http.IncomingMessage, form: URLSearchParams, res: http.ServerResponse) {
  if (!clientMatches(req)) return answer(res, 401, { error: 'invalid_client' });
  if (form.get('grant_type') !== 'password') return answer(res, 400, { error: 'unsupported_grant_type' });
  const password = form.get('password') ?? '';
  const user = await users.findUserByUsername(form.get('username') ?? '');
  // An unknown user costs a hash too, as on the server: the time must not tell who exists.
  const verified = user ? (await hasher.verify(user.passwordHash, password)).ok : await hasher.verifyDummy(password);
  if (!user || !verified) return answer(res, 400, { error: 'invalid_grant' });
  const accessToken = generateToken();
  const refreshToken = generateToken();
  const now = Date.now();
  const grantId = generateGrantId();
  await tokens.saveToken({
    grantId,
    accessTokenHash: hashToken(accessToken),
    accessTokenExpiresAt: new Date(now + ACCESS_TOKEN_SECONDS * 1000),
    refreshTokenHash: hashToken(refreshToken),
    refreshTokenExpiresAt: new Date(now + REFRESH_TOKEN_SECONDS * 1000),
    clientId: Number(clientPk),
    userId: user.id,
    scope: [],
    audience: null,
  }, { grant: { id: grantId, clientId: Number(clientPk), userId: user.id, scope: [], resource: null, authTime: new Date(now) } });
  answer(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_SECONDS, refresh_token: refreshToken });
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/oauth/token') return answer(res, 404, { error: 'not_found' });
    login(req, new URLSearchParams(Buffer.concat(chunks).toString()), res).catch(err => {
      process.stderr.write(`bare login: ${(err as Error).stack}\n`);
      answer(res, 500, { error: 'server_error' });
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as { port: number }).port });
});

process.on('message', message => {
  if (message !== 'stop') return;
  server.close();
  server.closeAllConnections();
  db.end().finally(() => process.exit(0));
});
