/** One HTTP request on loopback, for the bench's set-up, sanity checks and revocation trials (autocannon drives the load). */
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** When the whole answer had arrived (process.hrtime, ms). */
  receivedAtMs: number;
}

export const FORM = 'application/x-www-form-urlencoded';

export const basicAuth = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Keep-alive by default, so that a series of checks does not open a connection each.
const sharedAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

export function send(base: string, method: 'GET' | 'POST', path: string,
  opts: { headers?: Record<string, string>; body?: string; agent?: http.Agent; timeoutMs?: number } = {}): Promise<Answer> {
  const headers = opts.body === undefined ? opts.headers : { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: opts.agent ?? sharedAgent, timeout: opts.timeoutMs ?? 10_000 }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, receivedAtMs: nowMs() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${base}${path}: no answer within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The answer's JSON body, or an error that says what came instead. */
export function json<T>(answer: Answer, what: string): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch {
    throw new Error(`${what}: expected JSON, got ${answer.status} ${answer.text.slice(0, 200)}`);
  }
}

/** Throws unless `ok`: the bench stops (non-zero exit) rather than measure something that does not work. */
export function must(ok: boolean, what: string, answer?: Answer): void {
  if (!ok) throw new Error(`sanity check failed: ${what}${answer ? ` (got ${answer.status} ${answer.text.slice(0, 200)})` : ''}`);
}
