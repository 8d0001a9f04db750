/**
 * APNs pipeline: notifications through Herald's queue (BullMQ on a redis-server) to the
 * APNs fixture, end to end, against two raw senders in the same run: a node:http2 client
 * with a bounded window, and @parse/node-apn in bounded chunks. Two shapes — one
 * notification to N tokens, N notifications to one token each — at 0 ms and 20 ms of
 * added APNs latency. The fixture, each sender and Redis run in processes of their own.
 *
 *   npm run bench -- apns [--quick]
 */
import { startBenchRedis } from './lib/bench-redis.js';
import { epochMs } from './lib/clock.js';
import { redisCounts } from './lib/redis-stats.js';
import type { BenchRedis } from './lib/bench-redis.js';
import type { FixtureCounters, FixtureInfo, FixtureSample } from './lib/apns-fixture-worker.js';
import type { ApnsShape, RawRunResult } from './lib/apns-raw-sender-worker.js';
import { submitBroadcast, submitIndividually } from './lib/apns-submit.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { percentiles, ratio } from './lib/stats.js';
import { BENCH_APP, heraldBuilds, startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const counts: Record<ApnsShape, number> = quick ? { broadcast: 5_000, individual: 500 } : { broadcast: 100_000, individual: 10_000 };
/**
 * BENCH_APNS_ONLY narrows a run for profiling, e.g. `herald,broadcast,20`: the senders,
 * shapes and latencies named (each list left whole when none of its values is named).
 */
const only = (process.env.BENCH_APNS_ONLY ?? '').split(',').filter(Boolean);
const pick = <T extends string | number>(values: readonly T[]): T[] => {
  const named = values.filter((v) => only.includes(String(v)));
  return named.length > 0 ? named : [...values];
};
const latencies = pick([0, 20]);
const shapes = pick(['broadcast', 'individual'] as const);
const senders = pick(['raw http2', 'node-apn', 'herald'] as const);
const rawSenders = senders.filter((s): s is RawSender => s !== 'herald');
/** Herald builds measured: this tree's, and BENCH_BEFORE_CLI's when set. */
const builds = senders.includes('herald') ? heraldBuilds() : [];
/** Requests in flight for every sender: the raw client's window, node-apn's 2 × 500, Herald's maxConcurrentStreams. */
const IN_FLIGHT = 1_000;
const NODE_APN_CHUNK = 500;
/** Herald's chunk jobs and notification jobs run at once (queue.concurrency); BENCH_APNS_QUEUE_CONCURRENCY overrides. */
const QUEUE_CONCURRENCY = Number(process.env.BENCH_APNS_QUEUE_CONCURRENCY ?? 64);
/** HTTP requests in flight while N single-token notifications are submitted. */
const SUBMIT_WINDOW = 32;

type RawSender = 'raw http2' | 'node-apn';
/** A raw client, or a running Herald build. */
type Sender = RawSender | HeraldTarget;
const nameOf = (sender: Sender): string => (typeof sender === 'string' ? sender : sender.name);

interface Measured {
  readonly row: Row;
  readonly perSecond: number;
}

let nextToken = 0;

async function measure(
  sender: Sender,
  shape: ApnsShape,
  latencyMs: number,
  ctx: { fixture: IpcChild; info: FixtureInfo; raw: IpcChild; redis: BenchRedis },
): Promise<Measured> {
  const count = counts[shape];
  const firstToken = nextToken;
  nextToken += count;
  const senderPid = typeof sender === 'string' ? ctx.raw.pid : sender.pid;
  const cpu = { sender: cpuSeconds(senderPid), redis: cpuSeconds(ctx.redis.pid), fixture: cpuSeconds(ctx.fixture.pid) };
  const redisBefore = await redisCounts(ctx.redis.url);
  const started = epochMs();
  let reportedFailures: number;
  let firstError: string | undefined;
  if (typeof sender !== 'string') {
    if (shape === 'broadcast') await submitBroadcast(sender.baseUrl, firstToken, count);
    else await submitIndividually(sender.baseUrl, firstToken, count, SUBMIT_WINDOW);
    const done = await waitForFixture(ctx.fixture, count, { idleMs: 10_000, timeoutMs: 600_000 });
    reportedFailures = done.refused;
  } else {
    const method = sender === 'raw http2' ? 'rawHttp2' : 'nodeApn';
    const result = await ctx.raw.call<RawRunResult>(method, { fixture: ctx.info, shape, count, firstToken, window: IN_FLIGHT, chunk: NODE_APN_CHUNK }, 600_000);
    reportedFailures = result.failed;
    firstError = result.firstError;
  }
  const sample = await ctx.fixture.call<FixtureSample>('sample');
  const redisAfter = await redisCounts(ctx.redis.url);
  const used = {
    sender: cpuSeconds(senderPid) - cpu.sender,
    redis: cpuSeconds(ctx.redis.pid) - cpu.redis,
    fixture: cpuSeconds(ctx.fixture.pid) - cpu.fixture,
  };
  const seconds = (sample.lastAnsweredAt - started) / 1000;
  const [p50, p99, max] = percentiles(sample.latencies, [50, 99, 100]);
  const perSecond = sample.accepted / seconds;
  const micros = (s: number): number => (s * 1e6) / Math.max(1, sample.accepted);
  return {
    perSecond,
    row: {
      sender: nameOf(sender),
      shape: shape === 'broadcast' ? `1 × ${count} tokens` : `${count} × 1 token`,
      'latency ms': latencyMs,
      accepted: sample.accepted,
      failed: count - sample.accepted,
      duplicates: sample.duplicates,
      'notif/s': Math.round(perSecond),
      'in flight mean': Math.round(sample.meanInFlight),
      'in flight peak': sample.peakInFlight,
      'p50 ms': p50 ?? Number.NaN,
      'p99 ms': p99 ?? Number.NaN,
      'max ms': max ?? Number.NaN,
      'sender cpu µs/n': micros(used.sender),
      'redis cpu µs/n': typeof sender === 'string' ? 0 : micros(used.redis),
      // Commands Redis executed per notification, those run inside scripts included (INFO's own two discounted).
      'redis cmds/n': typeof sender === 'string' ? 0 : (redisAfter.commands - redisBefore.commands - 2) / sample.accepted,
      'redis scripts/n': typeof sender === 'string' ? 0 : (redisAfter.scripts - redisBefore.scripts) / sample.accepted,
      'fixture cpu µs/n': micros(used.fixture),
      ...(reportedFailures > 0 ? { 'first error': firstError ?? `${reportedFailures} refused` } : {}),
    },
  };
}

/** Until `expected` requests were accepted, or nothing new was answered for `idleMs`. */
async function waitForFixture(fixture: IpcChild, expected: number, options: { idleMs: number; timeoutMs: number }): Promise<FixtureCounters> {
  const until = Date.now() + options.timeoutMs;
  let last = await fixture.call<FixtureCounters>('counters');
  let progressAt = Date.now();
  while (last.accepted + last.refused < expected && Date.now() < until && Date.now() - progressAt < options.idleMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await fixture.call<FixtureCounters>('counters');
    if (now.accepted + now.refused > last.accepted + last.refused) progressAt = Date.now();
    last = now;
  }
  return last;
}

function heraldConfig(info: FixtureInfo, redis: BenchRedis, index: number): Record<string, unknown> {
  return {
    // Each build on its own queues and keys of the one Redis.
    redis: { url: redis.url, keyPrefix: `bench${index}` },
    queue: { prefix: `bench${index}`, concurrency: QUEUE_CONCURRENCY, chunkSize: 500 },
    apps: [
      {
        ...BENCH_APP,
        apns: {
          topic: info.topic,
          cert: info.certPath,
          key: info.keyPath,
          endpoint: { host: '127.0.0.1', port: info.port, ca: info.caPath },
          maxConcurrentStreams: IN_FLIGHT,
          connections: 1,
        },
      },
    ],
  };
}

async function main(): Promise<void> {
  const fixture = await IpcChild.start(new URL('./lib/apns-fixture-worker.ts', import.meta.url));
  const raw = await IpcChild.start(new URL('./lib/apns-raw-sender-worker.ts', import.meta.url));
  const redis = await startBenchRedis();
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const heralds: HeraldTarget[] = [];
  try {
    const info = await fixture.call<FixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: IN_FLIGHT });
    for (const [index, build] of builds.entries()) heralds.push(await startHerald({ build, config: heraldConfig(info, redis, index) }));
    const ctx = { fixture, info, raw, redis };
    for (const latencyMs of latencies) {
      await fixture.call('setLatency', { latencyMs });
      for (const shape of shapes) {
        const results = new Map<Sender, Measured>();
        for (const sender of [...rawSenders, ...heralds]) {
          const measured = await measure(sender, shape, latencyMs, ctx);
          results.set(sender, measured);
          rows.push(measured.row);
        }
        const fastest = Math.max(results.get('raw http2')?.perSecond ?? 0, results.get('node-apn')?.perSecond ?? 0);
        for (const herald of heralds) ratios[`${herald.name} / faster raw, ${shape} @${latencyMs} ms`] = ratio(results.get(herald)?.perSecond ?? Number.NaN, fastest);
      }
    }
  } finally {
    for (const herald of heralds) await herald.stop();
    await raw.stop();
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
    await redis.stop();
  }
  report('apns', rows, { ...ratios, inFlight: IN_FLIGHT, queueConcurrency: QUEUE_CONCURRENCY, nodeApnChunk: NODE_APN_CHUNK, submitWindow: SUBMIT_WINDOW });
}

await main();
