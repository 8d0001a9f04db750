import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';

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
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
  let child: ChildProcess | undefined;
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
    '--appendonly', options.persist ? 'yes' : 'no', '--appendfsync', 'always', '--loglevel', 'warning',
    ...(options.args ?? []),
  ];
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForPort(port, 10_000);
  };
  await launch();
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

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (data) => {
          socket.destroy();
          if (data.toString().startsWith('+PONG')) resolve();
          else retry();
        });
      });
      socket.once('error', () => {
        socket.destroy();
        retry();
      });
    };
    const retry = (): void => {
      if (Date.now() > until) reject(new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`));
      else setTimeout(attempt, 25);
    };
    attempt();
  });
}
