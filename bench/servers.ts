/**
 * The servers the bench starts and stops: egg apps (this server, and the bare egg app it is compared
 * with) through egg-scripts under a title unique to this run, and the peer (panva/oidc-provider) and
 * the bare login (bench/bareLogin.ts) as child processes speaking IPC. Each stops only what it
 * started: egg-scripts by its exact --title, a child by its handle.
 */
import { type ChildProcess, execFile, execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
// Free ports instead of fixed ones, so that runs beside other people's servers do not collide.
import { freePort } from '../test/helpers';

/** Who did the work of a row: a server, or the bench itself for the raw argon2id rate (g). */
export type ServerName = 'ours' | 'bare egg' | 'peer' | 'bare login' | 'raw argon2id';

/** What the load driver needs of a server: where it listens and which processes do its work. */
export interface Target {
  name: ServerName;
  base: string;
  /** The processes whose CPU time and memory are the server's: an egg app's workers, a forked server's one process. */
  pids(): number[];
}

export const HOST = '127.0.0.1';

export function log(message: string) {
  process.stderr.write(`[bench] ${message}\n`);
}

const CLOCK_TICKS = Number(execFileSync('getconf', [ 'CLK_TCK' ], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU seconds a process has used so far (0 once it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Starts a CPU-time count over a target's processes; the function it returns reads CPU seconds since. */
export function cpuMark(target: Target): () => number {
  const start = new Map(target.pids().map(pid => [ pid, cpuSeconds(pid) ]));
  return () => target.pids().reduce((sum, pid) => sum + cpuSeconds(pid) - (start.get(pid) ?? 0), 0);
}

export function rssMiB(target: Target): number {
  const pids = target.pids();
  if (pids.length === 0) return 0;
  const out = execFileSync('ps', [ '-o', 'rss=', '-p', pids.join(',') ], { encoding: 'utf8' });
  return Math.round(out.trim().split('\n').reduce((sum, kb) => sum + Number(kb), 0) / 1024);
}

const EGG_SCRIPTS = require.resolve('egg-scripts/bin/egg-scripts.js');

/** An egg app started with `egg-scripts start --daemon --env=prod`, as production starts this server. */
export class EggApp implements Target {
  base = '';
  private started = false;

  constructor(
    readonly name: ServerName,
    private readonly opts: {
      /** Unique to this run: `egg-scripts stop --title` and the worker lookup match it exactly. */
      title: string;
      /** The app's folder; egg is taken from `framework` when the folder has no node_modules of its own. */
      baseDir: string;
      framework?: string;
      env: NodeJS.ProcessEnv;
      logDir: string;
    },
  ) {}

  async start(workers: number) {
    const port = await freePort();
    this.base = `http://${HOST}:${port}`;
    log(`starting ${this.name} (${this.opts.title}) with ${workers} worker(s) on ${this.base}`);
    this.started = true;
    execFileSync(process.execPath, [ EGG_SCRIPTS, 'start', '--daemon', `--title=${this.opts.title}`, `--port=${port}`, `--workers=${workers}`, '--env=prod',
      ...this.opts.framework ? [ `--framework=${this.opts.framework}` ] : [],
      `--stdout=${this.opts.logDir}/master-stdout.log`, `--stderr=${this.opts.logDir}/master-stderr.log`, this.opts.baseDir,
    ], { env: this.opts.env, stdio: [ 'ignore', 'ignore', 'inherit' ] });
  }

  /** Stops this app by its title (egg-scripts waits ~5 s for the workers); a no-op if it was not started. */
  async stop() {
    if (!this.started) return;
    this.started = false;
    await promisify(execFile)(process.execPath, [ EGG_SCRIPTS, 'stop', `--title=${this.opts.title}` ], { env: this.opts.env });
  }

  pids(): number[] {
    try {
      // The exact JSON the master passes its workers, so that a title that is a prefix of another never matches it.
      return execFileSync('pgrep', [ '-f', `app_worker\\.js.*"title":"${this.opts.title}"` ], { encoding: 'utf8' })
        .trim().split('\n')
        .map(Number)
        .filter(Boolean);
    } catch {
      return [];
    }
  }

}

/**
 * A copy of the peer's folder in the system's temporary folder, installed once with `npm ci` and reused
 * by later runs while its package-lock.json is the same (the source folder may be read-only). The small
 * files are copied again each time, so that a changed bench.mjs is used at once. Returns the copy's
 * folder, or why the peer cannot be run.
 */
export function preparePeer(sourceDir: string): { dir: string } | { skipped: string } {
  const lock = path.join(sourceDir, 'package-lock.json');
  if (!existsSync(path.join(sourceDir, 'bench.mjs')) || !existsSync(lock)) {
    return { skipped: `no bench.mjs and package-lock.json in ${sourceDir} (--peer-dir)` };
  }
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex')
    .slice(0, 12);
  const dir = path.join(os.tmpdir(), `oauth2-peer-bench-${hash}`);
  const copySources = (to: string) => cpSync(sourceDir, to, { recursive: true, filter: src => path.basename(src) !== 'node_modules' });
  try {
    if (!existsSync(path.join(dir, '.installed'))) {
      // Installed beside the final folder and renamed into place, so that an interrupted install is never reused.
      const partial = `${dir}.partial-${process.pid}`;
      rmSync(partial, { recursive: true, force: true });
      copySources(partial);
      log(`installing the peer in ${dir} (npm ci, once)`);
      try {
        execFileSync('npm', [ 'ci', '--no-audit', '--no-fund' ], { cwd: partial, stdio: [ 'ignore', 'ignore', 'pipe' ], timeout: 300_000 });
      } catch (err) {
        rmSync(partial, { recursive: true, force: true });
        const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim().split('\n')
          .find(line => /err/i.test(line));
        return { skipped: `npm ci of the peer failed (${stderr ?? (err as Error).message})` };
      }
      writeFileSync(path.join(partial, '.installed'), new Date().toISOString());
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    }
    copySources(dir);
    return { dir };
  } catch (err) {
    return { skipped: `could not copy ${sourceDir} to ${dir}: ${(err as Error).message}` };
  }
}

interface ChildMessage {
  type: string;
  port?: number;
  counters?: Record<string, number>;
}

/**
 * A server in one child process that speaks IPC: it sends `{ type: 'ready', port }` once it listens
 * and exits on 'stop'. The peer (`bench.mjs --server`, panva/oidc-provider with its in-memory store)
 * also answers 'read' and 'mark' with its request counters; the bare login (bench/bareLogin.ts) does not.
 */
export class ForkedServer implements Target {
  base = '';
  private readonly child: ChildProcess;
  private readonly output: string[] = [];

  constructor(readonly name: ServerName, script: string, options: { args: string[]; cwd: string; env: NodeJS.ProcessEnv; execArgv: string[] }) {
    this.child = fork(script, options.args, {
      cwd: options.cwd,
      env: options.env,
      // Not this process's flags: the child says what it needs (ts-node for a .ts script).
      execArgv: options.execArgv,
      stdio: [ 'ignore', 'pipe', 'pipe', 'ipc' ],
    });
    const keep = (chunk: Buffer) => this.output.push(chunk.toString().trim());
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  async start() {
    const { port } = await this.waitFor('ready', 60_000);
    this.base = `http://${HOST}:${port}`;
    log(`started ${this.name} (pid ${this.child.pid}) on ${this.base}`);
  }

  pids(): number[] {
    return this.child.pid && this.child.exitCode === null ? [ this.child.pid ] : [];
  }

  /** The peer's request counters since the last call (it counts introspection answers that were not active:true). */
  async counters(): Promise<Record<string, number>> {
    const read = this.waitFor('read', 10_000);
    this.child.send('read');
    const { counters = {} } = await read;
    const marked = this.waitFor('marked', 10_000);
    this.child.send('mark');
    await marked;
    return counters;
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise(resolve => this.child.once('exit', resolve));
    if (this.child.connected) this.child.send('stop');
    // By handle: this child's PID only.
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }

  private waitFor(type: string, timeoutMs: number): Promise<ChildMessage> {
    const child = this.child;
    return new Promise((resolve, reject) => {
      // One listener set per wait, removed by whichever of the three settles it first.
      const listeners = {
        message: (message: ChildMessage) => {
          if (message?.type !== type) return;
          settle();
          resolve(message);
        },
        exit: (code: number | null) => {
          settle();
          reject(new Error(`${this.name} exited (${code}) while the bench waited for '${type}':\n${this.output.join('\n')}`));
        },
        timer: setTimeout(() => {
          settle();
          reject(new Error(`${this.name} sent no '${type}' within ${timeoutMs} ms:\n${this.output.join('\n')}`));
        }, timeoutMs),
      };
      function settle() {
        clearTimeout(listeners.timer);
        child.off('message', listeners.message);
        child.off('exit', listeners.exit);
      }
      child.on('message', listeners.message);
      child.once('exit', listeners.exit);
    });
  }
}
