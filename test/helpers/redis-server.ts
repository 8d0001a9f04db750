import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRedis, relaunchRedis } from './redis-launch.js';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL) — a crash, not a shutdown. Data is lost unless `persist` was set. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and, with `persist`, the same data). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a real redis-server on a free port, or uses HERALD_TEST_REDIS_URL when set
 * (then kill/restart are unavailable). Fails loudly when redis-server is not on PATH.
 */
export async function startRedis(options: { persist?: boolean; args?: string[] } = {}): Promise<TestRedis> {
  const external = process.env.HERALD_TEST_REDIS_URL;
  if (external) {
    const unsupported = async (): Promise<void> => {
      throw new Error('kill/restart need a redis-server started by the test helper (unset HERALD_TEST_REDIS_URL)');
    };
    return { url: external, port: Number(new URL(external).port || 6379), kill: unsupported, restart: unsupported, stop: async () => {} };
  }
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error('redis-server was not found on PATH: it is the one prerequisite of the tests (apt-get install redis-server)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
  const argsFor = (port: number): string[] => [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
    '--appendonly', options.persist ? 'yes' : 'no', '--appendfsync', 'always', '--loglevel', 'warning',
    ...(options.args ?? []),
  ];
  const first = await launchRedis(1, ([port]) => argsFor(port as number), 'redis-server').catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  let child: ChildProcess | undefined = first.child;
  const port = first.ports[0] as number;
  // A restart keeps the port: clients reconnect to where the server was.
  const launch = async (): Promise<void> => {
    child = await relaunchRedis(argsFor(port), port, 'redis-server (restarted)');
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
