import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { MockApplication } from 'egg-mock';
import qs from 'qs';
import type { CreateClientInput, CreateUserInput } from '../app/core/accounts';

export const CLIENT = { clientId: 'web_app', secret: 'web-app-secret-123', grants: [ 'password', 'refresh_token' ] };
export const USER = { username: 'alice', password: 'correct horse battery', email: 'alice@example.com' };

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

export async function createClient(app: MockApplication, input: Partial<CreateClientInput> = {}) {
  await app.container.accounts.createClient({ ...CLIENT, ...input });
}

export async function createUser(app: MockApplication, input: Partial<CreateUserInput> = {}) {
  return app.container.accounts.createUser({ ...USER, ...input });
}

/** POSTs a form-encoded token request the way the browser front end does (qs + Basic). */
export function tokenRequest(app: MockApplication, body: Record<string, string>, auth?: string) {
  return clientPost(app, '/oauth/token', body, auth);
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  scope?: string;
}

/** Logs the default user in through the default client (or `auth`); returns the token response body. */
export async function login(app: MockApplication, auth?: string, extra: Record<string, string> = {}): Promise<TokenResponse> {
  const res = await tokenRequest(app, { grant_type: 'password', username: USER.username, password: USER.password, ...extra }, auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

export function bearer(app: MockApplication, path: string, token: string) {
  return app.httpRequest().get(path).set('Authorization', `Bearer ${token}`);
}

/** The status of GET /api/currentUser with this access token: 200 while it works, 401 once it does not. */
export async function tokenStatus(app: MockApplication, token: string): Promise<number> {
  return (await bearer(app, '/api/currentUser', token)).status;
}

export function refresh(app: MockApplication, refreshToken: string, extra: Record<string, string> = {}, auth?: string) {
  return tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, auth);
}

/** A form POST with client authentication to one of the client-authenticated endpoints. */
export function clientPost(app: MockApplication, path: string, body: Record<string, string>, auth = basic(CLIENT.clientId, CLIENT.secret)) {
  const req = app.httpRequest()
    .post(path)
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .send(qs.stringify(body));
  return auth ? req.set('Authorization', auth) : req;
}

const LAUNCHER = path.join(__dirname, '../app/cli/launch.js');

export interface AdminRun { code: number; stdout: string; stderr: string }

/** The environment of an operator's shell: without the test runner's TypeScript hooks. */
const SHELL_ENV = Object.fromEntries(Object.entries(process.env).filter(([ name ]) => !/^(TS_NODE_|NODE_OPTIONS$)/.test(name)));

/** `npm run admin -- …` as an operator runs it, against the unittest database. */
export function admin(...args: string[]): Promise<AdminRun> {
  return new Promise(resolve => {
    execFile(process.execPath, [ LAUNCHER, 'admin', ...args ], {
      // National phone numbers in the region the unittest app reads them in (config.unittest.ts).
      env: { ...SHELL_ENV, EGG_SERVER_ENV: 'unittest', PHONE_DEFAULT_REGION: 'CN' },
      // Generous: a command starts TypeScript and migrates first, slow on a loaded machine.
      timeout: 90000,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A loopback port free right now (for a cluster of workers, which needs a fixed port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** Serves `handler` on a free loopback port; returns the server and its origin (http://127.0.0.1:<port>). */
export async function serveOnLoopback(handler: http.RequestListener): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer(handler);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

/** Closes a server started by serveOnLoopback, its open (keep-alive) connections too. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise(resolve => server.close(resolve));
}
