import { readdirSync, readFileSync } from 'node:fs';
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

/** redis-server rewrites its command line to `redis-server 127.0.0.1:PORT`; before that it reads `--port PORT`. */
function redisPid(port: number): number | undefined {
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
