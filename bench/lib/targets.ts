import { existsSync } from 'node:fs';
import { startHeraldProcess, cliPath } from '../../test/helpers/herald-process.js';
import type { HeraldProcess } from '../../test/helpers/herald-process.js';
import { IpcChild } from './ipc.js';
import { plainPublisher, signedPublisher } from './publisher.js';
import type { BenchApp, Publish } from './publisher.js';

export const BENCH_APP: BenchApp = Object.freeze({ id: 'bench', key: 'bench-key', secret: 'bench-secret-0123456789' });

/** A server under test: where clients connect, how to publish to it, and its pid for /proc readings. */
export interface BroadcastTarget {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
  /** The Pusher WebSocket URL of BENCH_APP. */
  readonly wsUrl: string;
  readonly publish: Publish;
  stop(): Promise<void>;
}

function wsUrlOf(baseUrl: string): string {
  return `${baseUrl.replace('http', 'ws')}/app/${BENCH_APP.key}?protocol=7&client=js&version=8.4.0&flash=false`;
}

/** The bench's own minimal `ws` broadcast server, in a child process. */
export async function startRawWsServer(): Promise<BroadcastTarget> {
  const child = await IpcChild.start(new URL('./raw-ws-server.ts', import.meta.url));
  const port = await child.call<number>('listen');
  const baseUrl = `http://127.0.0.1:${port}`;
  return { name: 'raw ws', pid: child.pid, baseUrl, wsUrl: wsUrlOf(baseUrl), publish: plainPublisher(baseUrl, BENCH_APP), stop: () => child.stop() };
}

export interface HeraldTarget extends BroadcastTarget {
  readonly process: HeraldProcess;
}

/**
 * The built daemon (dist/) with one bench app whose limits do not get in the way.
 * `config` is merged over the bench defaults; NODE_OPTIONS in `env` reaches the daemon
 * (e.g. --cpu-prof).
 */
export async function startHerald(options: { config?: Record<string, unknown>; env?: Record<string, string>; name?: string } = {}): Promise<HeraldTarget> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first (npm run build)`);
  const env = { ...profilingEnv(), ...options.env };
  const process = await startHeraldProcess({
    config: {
      // info, as deployed: the readiness line is an info line, and the hot paths log at debug only.
      log: { level: 'info' },
      apps: [{ ...BENCH_APP, limits: { maxEventPayloadKb: 100 } }],
      ...options.config,
    },
    env,
    timeoutMs: 30_000,
  });
  const pid = process.child.pid;
  if (pid === undefined) throw new Error('herald has no pid');
  return {
    name: options.name ?? 'herald',
    pid,
    baseUrl: process.baseUrl,
    wsUrl: wsUrlOf(process.baseUrl),
    publish: signedPublisher(process.baseUrl, BENCH_APP),
    process,
    stop: async () => {
      await process.stop();
    },
  };
}

/**
 * BENCH_CPU_PROF=<dir> profiles every daemon a bench starts (the V8 profiler, started
 * by a preload because NODE_OPTIONS refuses --cpu-prof); the profile is written when
 * the daemon exits. Summarize with bench/lib/profile-summary.ts.
 */
function profilingEnv(): Record<string, string> {
  const dir = globalThis.process.env.BENCH_CPU_PROF;
  return dir ? { NODE_OPTIONS: `--import ${new URL('./cpu-profile-preload.mjs', import.meta.url).pathname}` } : {};
}
