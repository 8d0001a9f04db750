import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { daemonNodeFlags } from './daemon-flags.js';
import { builtCli, repoRoot, spawnHerald } from './herald-spawn.js';
import type { SpawnedHerald } from './herald-spawn.js';
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
  readonly process: SpawnedHerald;
}

/** A build of the daemon to measure: this tree's, and optionally an earlier one in the same run. */
export interface HeraldBuild {
  readonly name: string;
  readonly cli: string;
}

/**
 * `herald` is this tree's build (dist/). BENCH_BEFORE_CLI=<path to an earlier build's
 * dist/src/cli/main.js> adds `herald@before`, so a change is measured against the code
 * it replaces on the same machine, in the same run.
 */
export function heraldBuilds(): HeraldBuild[] {
  const before = process.env.BENCH_BEFORE_CLI;
  return [{ name: 'herald', cli: builtCli }, ...(before ? [{ name: 'herald@before', cli: before }] : [])];
}

/**
 * Node flags of a bench daemon: those it is deployed with (`npm start`'s), then
 * BENCH_HERALD_NODE_ARGS. BENCH_BEFORE_NODE_ARGS, when set, replaces all of them for
 * herald@before, so flags are measured against other flags (or none) in one run.
 */
export function nodeFlags(build: HeraldBuild | undefined): string[] {
  const words = (value: string): string[] => value.split(' ').filter(Boolean);
  const before = build?.name === 'herald@before' ? process.env.BENCH_BEFORE_NODE_ARGS : undefined;
  if (before !== undefined) return words(before);
  return [...deployedFlags, ...words(process.env.BENCH_HERALD_NODE_ARGS ?? '')];
}

const deployedFlags = daemonNodeFlags((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start);

/**
 * A daemon with one bench app whose limits do not get in the way. `config` is merged
 * over the bench defaults. BENCH_CPU_PROF=<dir> profiles it (node --cpu-prof, written
 * at exit; summarize with bench/lib/profile-summary.ts). Node flags: `nodeFlags`.
 */
export async function startHerald(options: { config?: Record<string, unknown>; env?: Record<string, string>; build?: HeraldBuild; name?: string } = {}): Promise<HeraldTarget> {
  const cli = options.build?.cli ?? builtCli;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run build)`);
  const profileDir = process.env.BENCH_CPU_PROF;
  const execArgv = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...nodeFlags(options.build)];
  const spawned = await spawnHerald({
    cli,
    config: {
      // info, as deployed: the readiness line is an info line, and the hot paths log at debug only.
      log: { level: 'info' },
      apps: [{ ...BENCH_APP, limits: { maxEventPayloadKb: 100 } }],
      ...options.config,
    },
    ...(execArgv.length > 0 ? { execArgv } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  return {
    name: options.name ?? options.build?.name ?? 'herald',
    pid: spawned.pid,
    baseUrl: spawned.baseUrl,
    wsUrl: wsUrlOf(spawned.baseUrl),
    publish: signedPublisher(spawned.baseUrl, BENCH_APP),
    process: spawned,
    stop: async () => {
      await spawned.stop();
    },
  };
}
