import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

export interface LaunchedRedis {
  readonly child: ChildProcess;
  /** The ports it was started with, in the order `argsFor` was given them. */
  readonly ports: readonly number[];
}

const ATTEMPTS = 5;
/** Generous: a start takes milliseconds, but the suites run in parallel on two busy cores. */
const READY_TIMEOUT_MS = 30_000;
/** What is kept of the server's output, for the error when it will not start. */
const OUTPUT_KEEP = 2_000;

/**
 * Starts a redis-server (or a sentinel) on `portCount` ports that were free a moment
 * before. A port another test took in between makes the server exit at once ("Address
 * already in use"); it is then started again on new ports, up to five times, instead of
 * leaving the caller to wait out a timeout. Resolves once the first port answers PING.
 */
export async function launchRedis(portCount: number, argsFor: (ports: readonly number[], attempt: number) => string[], what: string): Promise<LaunchedRedis> {
  let output = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    const ports: number[] = [];
    for (let i = 0; i < portCount; i += 1) ports.push(await freePort());
    const started = await startAndAwait(argsFor(ports, attempt), ports[0] as number, what);
    if (started.up) return { child: started.child, ports };
    output = started.output;
  }
  throw new Error(`${what} exited ${ATTEMPTS} times without answering; its last output: ${output.trim() || '(none)'}`);
}

/** Starts redis-server again on a port that must stay the same (a restart: clients reconnect there); resolves once it answers PING. */
export async function relaunchRedis(args: string[], port: number, what: string): Promise<ChildProcess> {
  const started = await startAndAwait(args, port, what);
  if (!started.up) throw new Error(`${what} exited without answering on ${port}; its output: ${started.output.trim() || '(none)'}`);
  return started.child;
}

/** Spawns redis-server and waits until `port` answers PING or the server exits (then `output` says why). */
async function startAndAwait(args: string[], port: number, what: string): Promise<{ child: ChildProcess; up: boolean; output: string }> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEEP);
  });
  // The pipe alone must not keep a test process alive ('ignore' did not); the child's own handle still does, as before.
  unref(child.stdout);
  const state = await waitFor(async () => (child.exitCode !== null || child.signalCode !== null ? 'exited' : (await answersPing(port)) ? 'up' : undefined), {
    what: `${what} on ${port}`,
    timeoutMs: READY_TIMEOUT_MS,
  }).catch((err: unknown) => {
    // Up but never answering: the caller does not know of this child, so it must not outlive the failure.
    child.kill('SIGKILL');
    throw err;
  });
  return { child, up: state === 'up', output };
}

/** One PING over a fresh connection: true on +PONG, false on anything else (refused, closed, an error reply). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function unref(stream: unknown): void {
  if (typeof stream === 'object' && stream !== null && 'unref' in stream && typeof stream.unref === 'function') stream.unref();
}
