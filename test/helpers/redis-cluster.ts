import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchRedis } from './redis-launch.js';
import { waitFor } from './wait.js';

export interface TestRedisCluster {
  /** host/port of every master, for `redis.clusterNodes`. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters (no replicas) on free ports: each
 * redis-server runs with `--cluster-enabled yes`, then `redis-cli --cluster create`
 * assigns the slots; resolves once every node reports cluster_state:ok. Needs
 * redis-server and redis-cli (≥ 7 for sharded pub/sub) on PATH.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  for (const tool of ['redis-server', 'redis-cli']) {
    if (spawnSync(tool, ['--version']).error) throw new Error(`${tool} was not found on PATH: the cluster tests need it (apt-get install redis-server redis-tools)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-cluster-'));
  const children: ChildProcess[] = [];
  const nodes: Array<{ host: string; port: number }> = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i += 1) {
      // The bus port is chosen too (--cluster-port), so port + 10000 need not be free.
      const { child, ports } = await launchRedis(2, ([port, busPort], attempt) => [
        '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${i}-${attempt}.conf`), '--cluster-node-timeout', '2000',
        '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning',
      ], `redis-server (cluster node ${i + 1})`);
      children.push(child);
      nodes.push({ host: '127.0.0.1', port: ports[0] as number });
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    for (const { port } of nodes) {
      await waitFor(() => cli(port, ['CLUSTER', 'INFO']).includes('cluster_state:ok'), { what: `cluster state ok on ${port}`, timeoutMs: 15_000, intervalMs: 100 });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, stop };
}

function cli(port: number, args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
}
