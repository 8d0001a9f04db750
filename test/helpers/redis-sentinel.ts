import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRedis } from './redis-launch.js';
import { startRedis } from './redis-server.js';
import type { TestRedis } from './redis-server.js';
import { waitFor } from './wait.js';

export interface TestRedisSentinel {
  /** The monitored master (a TestRedis: kill/restart work). */
  readonly master: TestRedis;
  /** host/port of the sentinel, for `redis.sentinels`. */
  readonly sentinel: { host: string; port: number };
  readonly masterName: string;
  /** Port of the replica, when one was asked for. */
  readonly replicaPort?: number;
  /** The port of the master the sentinel currently names. */
  masterPort(): number;
  /** SENTINEL FAILOVER, after the replica has caught up; resolves once the sentinel names the replica as master. */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A master (with a replica if asked) and one Sentinel monitoring it
 * (`redis-server <conf> --sentinel`), so clients find the master by name as in a
 * Sentinel deployment, and a failover can be forced.
 */
export async function startRedisSentinel(options: { replica?: boolean; masterName?: string } = {}): Promise<TestRedisSentinel> {
  const masterName = options.masterName ?? 'herald-master';
  const master = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'herald-sentinel-'));
  const children: ChildProcess[] = [];
  let replicaPort: number | undefined;
  if (options.replica) {
    const replica = await launchRedis(1, ([port]) => ['--port', String(port), '--bind', '127.0.0.1', '--replicaof', '127.0.0.1', String(master.port), '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], 'redis-server (replica)');
    children.push(replica.child);
    const port = replica.ports[0] as number;
    replicaPort = port;
    // Attached before the sentinel starts, so its first INFO of the master lists the replica.
    await waitFor(() => cli(port, ['INFO', 'replication']).includes('master_link_status:up'), { what: 'the replica in sync', timeoutMs: 10_000, intervalMs: 50 });
  }
  // Sentinel rewrites its config file, so it lives in a directory of its own, one file per start.
  const sentinel = await launchRedis(
    1,
    ([port], attempt) => {
      const conf = join(dir, `sentinel-${attempt}.conf`);
      writeFileSync(conf, [`port ${String(port)}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${masterName} 2000`, ''].join('\n'));
      return [conf, '--sentinel', '--loglevel', 'warning'];
    },
    'redis-server --sentinel',
  );
  children.push(sentinel.child);
  const port = sentinel.ports[0] as number;
  const masterPort = (): number => Number(cli(port, ['SENTINEL', 'get-master-addr-by-name', masterName]).split('\n')[1]);
  const stop = async (): Promise<void> => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => masterPort() === master.port, { what: 'the sentinel to know the master', timeoutMs: 10_000, intervalMs: 50 });
    if (replicaPort !== undefined) {
      await waitFor(() => cli(port, ['SENTINEL', 'replicas', masterName]).includes(String(replicaPort)), { what: 'the sentinel to know the replica', timeoutMs: 15_000, intervalMs: 100 });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const failover = async (): Promise<void> => {
    if (replicaPort === undefined) throw new Error('failover needs a replica (startRedisSentinel({ replica: true }))');
    const from = masterPort();
    cli(from, ['WAIT', '1', '5000']);
    const answer = cli(port, ['SENTINEL', 'FAILOVER', masterName]);
    if (answer !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${answer}`);
    await waitFor(() => masterPort() !== from, { what: 'the sentinel to name the new master', timeoutMs: 15_000, intervalMs: 50 });
  };
  return { master, sentinel: { host: '127.0.0.1', port }, masterName, ...(replicaPort === undefined ? {} : { replicaPort }), masterPort, failover, stop };
}

function cli(port: number, args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
}
