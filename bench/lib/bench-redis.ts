import { readdirSync, readFileSync } from 'node:fs';
import { startRedisCluster } from '../../test/helpers/redis-cluster.js';
import type { TestRedisCluster } from '../../test/helpers/redis-cluster.js';
import { startRedis } from '../../test/helpers/redis-server.js';
import type { TestRedis } from '../../test/helpers/redis-server.js';

export interface BenchRedis extends TestRedis {
  /** The redis-server process, for /proc CPU readings. */
  readonly pid: number;
}

/** A redis-server of its own (the test helper's), with its pid found in /proc. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const redis = await startRedis();
  const pid = redisPid(redis.port);
  if (pid === undefined) {
    await redis.stop();
    throw new Error(`no redis-server process found for port ${redis.port}`);
  }
  return { ...redis, pid };
}

export interface BenchRedisCluster extends TestRedisCluster {
  /** Each master's redis-server process, in the order of `nodes`. */
  readonly pids: readonly number[];
}

/** A Redis Cluster of `masters` masters (the test helper's: even slot ranges, no replicas), with their pids. */
export async function startBenchRedisCluster(masters = 3): Promise<BenchRedisCluster> {
  const cluster = await startRedisCluster(masters);
  const pids = cluster.nodes.map((node) => redisPid(node.port));
  if (pids.some((pid) => pid === undefined)) {
    await cluster.stop();
    throw new Error(`no redis-server process found for every Cluster node (${cluster.nodes.map((n) => n.port).join(', ')})`);
  }
  return { ...cluster, pids: pids as number[] };
}

/**
 * The redis-server process listening on `port`, found in /proc. redis-server rewrites its
 * command line to `redis-server 127.0.0.1:PORT` (with ` [cluster]` for a Cluster node);
 * before that it reads `--port PORT`.
 */
export function redisPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (cmdline.includes('redis-server') && (cmdline.includes(`:${port} `) || cmdline.trimEnd().endsWith(`:${port}`) || cmdline.includes(`--port ${port} `))) {
      return Number(entry);
    }
  }
  return undefined;
}
