/**
 * Partitions on a Redis Cluster: one-token notifications through the queue (herald/client
 * `sendMany` over Redis, envelope jobs) to the APNs fixture, with `queue.partitions: 3`
 * against `queue.partitions: 1`, on one 3-master Cluster in the same run. With one
 * partition every queue key shares the tag of `{herald}` and so one shard; with three,
 * each partition's queues and status records sit on a shard of their own
 * (docs/queue.md "Partitions"). CPU is read per shard, per Herald process and for the
 * producer (this process). BENCH_PARTITIONS_NODES sets the number of Herald processes
 * (default 1), all consuming every partition; BENCH_PARTITIONS_CLI=<dist/src/cli/main.js
 * of another build> measures that build instead of this tree's.
 *
 *   npm run bench -- partitions [--quick]
 */
import { sendManyProducer } from './lib/apns-bulk.js';
import { benchApnsApp, waitForFixture } from './lib/apns-fixture.js';
import type { FixtureInfo, FixtureSample } from './lib/apns-fixture-worker.js';
import { startBenchRedisCluster } from './lib/bench-redis.js';
import type { BenchRedisCluster } from './lib/bench-redis.js';
import { epochMs } from './lib/clock.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds } from './lib/proc.js';
import { countsBetween, redisCounts } from './lib/redis-stats.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { percentiles, ratio } from './lib/stats.js';
import { startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const COUNT = quick ? 5_000 : 20_000;
/** Notifications per `sendMany` call: with 3 partitions, three envelopes of about a third each. */
const BULK_CHUNK = 1_000;
const WARM_UP = 500;
const IN_FLIGHT = 1_000;
const QUEUE_CONCURRENCY = 64;
const NODES = Number(process.env.BENCH_PARTITIONS_NODES ?? 1);
const PREFIX = '{herald}';
const PARTITIONS = [1, 3] as const;
const CLI = process.env.BENCH_PARTITIONS_CLI;

interface Measured {
  readonly row: Row;
  readonly perSecond: number;
}

let nextToken = 0;

async function run(partitions: number, cluster: BenchRedisCluster, fixture: IpcChild, info: FixtureInfo): Promise<Measured> {
  // Status records of each run under their own prefix; the queues under `{herald}` as deployed.
  const keyPrefix = `bench-p${partitions}`;
  const redis = { mode: 'cluster' as const, clusterNodes: cluster.nodes };
  const config = {
    redis: { ...redis, keyPrefix },
    queue: { prefix: PREFIX, partitions, concurrency: QUEUE_CONCURRENCY, chunkSize: 500 },
    apps: [benchApnsApp(info, IN_FLIGHT)],
  };
  const members: HeraldTarget[] = [];
  const producer = sendManyProducer({ redis, prefix: PREFIX, keyPrefix, partitions, chunkSize: 500 });
  try {
    for (let i = 0; i < NODES; i += 1) members.push(await startHerald({ config, name: `herald ×${NODES}`, ...(CLI ? { build: { name: 'herald', cli: CLI } } : {}) }));
    // Connections, scripts loaded and JIT warm before the measured part.
    await producer.submit(nextToken, WARM_UP, BULK_CHUNK);
    nextToken += WARM_UP;
    await waitForFixture(fixture, WARM_UP, { idleMs: 10_000, timeoutMs: 120_000 });
    await fixture.call('sample');

    const firstToken = nextToken;
    nextToken += COUNT;
    const shardCpu = cluster.pids.map(cpuSeconds);
    const heraldCpu = members.map((m) => cpuSeconds(m.pid));
    const fixtureCpu = cpuSeconds(fixture.pid);
    const producerCpu = process.cpuUsage();
    const commandsBefore = await Promise.all(cluster.nodes.map((n) => redisCounts(`redis://${n.host}:${n.port}`)));
    const started = epochMs();
    await producer.submit(firstToken, COUNT, BULK_CHUNK);
    const done = await waitForFixture(fixture, COUNT, { idleMs: 10_000, timeoutMs: 600_000 });
    const producerUsed = process.cpuUsage(producerCpu);
    const sample = await fixture.call<FixtureSample>('sample');
    const commandsAfter = await Promise.all(cluster.nodes.map((n) => redisCounts(`redis://${n.host}:${n.port}`)));
    const n = Math.max(1, sample.accepted);
    const micros = (seconds: number): number => (seconds * 1e6) / n;
    const shards = cluster.pids.map((pid, i) => micros(cpuSeconds(pid) - (shardCpu[i] ?? 0)));
    const ran = commandsAfter.map((after, i) => countsBetween(commandsBefore[i] ?? { commands: 0, scripts: 0 }, after));
    const commands = ran.map((shard) => shard.commands / n);
    const scripts = ran.reduce((sum, shard) => sum + shard.scripts, 0) / n;
    const perSecond = sample.accepted / ((sample.lastAnsweredAt - started) / 1000);
    const [p50, p99] = percentiles(sample.latencies, [50, 99]);
    const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
    return {
      perSecond,
      row: {
        'queue.partitions': partitions,
        'herald processes': NODES,
        shape: `${COUNT} × 1 token`,
        accepted: sample.accepted,
        failed: COUNT - sample.accepted,
        duplicates: sample.duplicates,
        'notif/s': Math.round(perSecond),
        'p50 ms': p50 ?? Number.NaN,
        'p99 ms': p99 ?? Number.NaN,
        'herald cpu µs/n': micros(sum(members.map((m, i) => cpuSeconds(m.pid) - (heraldCpu[i] ?? 0)))),
        'producer cpu µs/n': micros((producerUsed.user + producerUsed.system) / 1e6),
        'redis cpu µs/n': sum(shards),
        'redis cpu µs/n per shard': shards.map((s) => s.toFixed(1)).join(' / '),
        'redis cmds/n': sum(commands),
        'redis cmds/n per shard': commands.map((c) => c.toFixed(2)).join(' / '),
        'redis scripts/n': scripts,
        'fixture cpu µs/n': micros(cpuSeconds(fixture.pid) - fixtureCpu),
        ...(done.refused > 0 ? { 'first error': `${done.refused} refused` } : {}),
      },
    };
  } finally {
    await producer.close();
    await Promise.all(members.map((m) => m.stop()));
  }
}

async function main(): Promise<void> {
  const fixture = await IpcChild.start(new URL('./lib/apns-fixture-worker.ts', import.meta.url));
  const cluster = await startBenchRedisCluster(3);
  const rows: Row[] = [];
  const results = new Map<number, Measured>();
  try {
    const info = await fixture.call<FixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: IN_FLIGHT });
    for (const partitions of PARTITIONS) {
      const measured = await run(partitions, cluster, fixture, info);
      results.set(partitions, measured);
      rows.push(measured.row);
      console.log(`queue.partitions ${partitions}: ${measured.row['notif/s']} notif/s`);
    }
  } finally {
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
    await cluster.stop();
  }
  report('partitions', rows, {
    'throughput partitions 3 / 1': ratio(results.get(3)?.perSecond ?? Number.NaN, results.get(1)?.perSecond ?? Number.NaN),
    masters: cluster.nodes.length,
    heraldProcesses: NODES,
    bulkChunk: BULK_CHUNK,
    queueConcurrency: QUEUE_CONCURRENCY,
  });
}

await main();
