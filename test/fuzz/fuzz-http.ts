import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { signQuery } from '../../src/lib/pusher-signing.js';

export interface Answer {
  status: number;
  contentType: string;
  text: string;
}

export interface HttpCall {
  method: string;
  /** Path and query, already encoded. */
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export function send(port: number, call: HttpCall): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: call.method, path: call.path, agent, headers: call.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer within 15 s to ${call.method} ${call.path.slice(0, 200)}`)));
    req.on('error', reject);
    req.end(call.body);
  });
}

/**
 * Writes raw bytes on a fresh connection, half-closes it, and collects whatever comes
 * back until the server closes. `undefined` status: the server closed without answering.
 */
export function sendRaw(port: number, bytes: Buffer): Promise<{ status: number | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('raw connection not closed within 15 s')), 15_000);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text });
    });
  });
}

/** A problem with an answer, or undefined: never 5xx (but /ready's honest 503), 4xx always JSON with a non-empty `error`. */
export function answerProblem(call: Pick<HttpCall, 'method' | 'path'>, answer: Answer, secrets: readonly string[]): string | undefined {
  const where = `${call.method} ${call.path.slice(0, 300)} → ${answer.status} ${answer.text.slice(0, 300)}`;
  const readiness = call.path.split('?')[0] === '/ready';
  const bodiless = call.method === 'HEAD';
  if (answer.status >= 500 && !(readiness && answer.status === 503)) return `5xx: ${where}`;
  if (answer.status < 200 || answer.status >= 600) return `odd status: ${where}`;
  for (const secret of secrets) if (answer.text.includes(secret)) return `secret in the answer: ${where}`;
  if (answer.status >= 400) {
    if (!answer.contentType.startsWith('application/json')) return `4xx without JSON: ${where}`;
    if (bodiless) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `4xx body is not JSON: ${where}`;
    }
    const error = (body as { error?: unknown } | null)?.error;
    if (typeof error !== 'string' || error.length === 0) return `4xx without an error message: ${where}`;
  }
  return undefined;
}

/** Resident set size of a process, from /proc (Linux), in bytes. */
export function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

export interface FuzzApp {
  id: string;
  key: string;
  secret: string;
}

/** Path plus a Pusher-signed query for `params`, exactly as the pusher SDK would send it. */
export function signedPath(app: FuzzApp, method: string, path: string, body: string | undefined, params: Record<string, string>, nowSeconds?: number): string {
  const query = signQuery(app, method, path, body, params, nowSeconds);
  return `${path}?${new URLSearchParams(query).toString()}`;
}

/** Runs `count` tasks, `concurrency` at a time, in order of index. */
export async function runPool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
