/**
 * APNs pipeline: notifications through Herald's queue (BullMQ on a redis-server) to the
 * APNs fixture, end to end, against two raw senders in the same run: a node:http2 client
 * with a bounded window, and @parse/node-apn in bounded chunks. Two shapes — one
 * notification to N tokens, N notifications to one token each — at 0 ms and 20 ms of
 * added APNs latency. The fixture, each sender and Redis run in processes of their own.
 *
 * N × 1 reaches Herald three ways, a row each: signed `POST /notifications` with
 * SUBMIT_WINDOW requests in flight; herald/client `sendMany` over Redis (envelope jobs,
 * BULK_CHUNK notifications per call); and BullMQ `addBulk` of `notify` jobs, the bulk
 * shape every build takes (so the before build is measured with it, and this tree's row
 * shows what envelopes change). Beside the HTTP rows runs the bare gateway
 * (lib/apns-bare-gateway-worker.ts): fastify and a node:http2 client, nothing checked and
 * nothing durable, the floor under any node gateway taking notifications over HTTP.
 *
 * Each shape and latency is measured in rounds, every sender once per round and the order
 * reversed every other round, so no sender always runs first on a machine whose speed
 * drifts. A ratio is taken from the totals of all rounds (notifications over seconds); with
 * several rounds, the median of the rounds' own ratios and their range are given too.
 *
 *   npm run bench -- apns [--quick]
 */
import { startBenchRedis } from './lib/bench-redis.js';
import { epochMs } from './lib/clock.js';
import { countsBetween, redisCounts } from './lib/redis-stats.js';
import type { BenchRedis } from './lib/bench-redis.js';
import type { FixtureInfo, FixtureSample } from './lib/apns-fixture-worker.js';
import type { ApnsShape, RawRunResult } from './lib/apns-raw-sender-worker.js';
import { benchApnsApp, waitForFixture } from './lib/apns-fixture.js';
import { addBulkProducer, sendManyProducer } from './lib/apns-bulk.js';
import type { BulkProducer } from './lib/apns-bulk.js';
import { submitBroadcast, submitIndividually } from './lib/apns-submit.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds, mainThreadCpuSeconds } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { median, percentiles, ratio, runTotals } from './lib/stats.js';
import type { MeasuredRun } from './lib/stats.js';
import { heraldBuilds, startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const counts: Record<ApnsShape, number> = quick ? { broadcast: 5_000, individual: 5_000 } : { broadcast: 100_000, individual: 10_000 };
/**
 * BENCH_APNS_ONLY narrows a run for profiling, e.g. `herald,broadcast,20` or
 * `raw http2,herald,individual,sendMany`: the senders, shapes, latencies and submit
 * paths named (each list left whole when none of its values is named).
 */
const only = (process.env.BENCH_APNS_ONLY ?? '').split(',').filter(Boolean);
const pick = <T extends string | number>(values: readonly T[]): T[] => {
  const named = values.filter((v) => only.includes(String(v)));
  return named.length > 0 ? named : [...values];
};
const latencies = pick([0, 20]);
const shapes = pick(['broadcast', 'individual'] as const);
const senders = pick(['raw http2', 'node-apn', 'bare gateway', 'herald'] as const);
const submitPaths = pick(['http', 'sendMany', 'addBulk'] as const);
const rawSenders = senders.filter((s): s is RawSender => s !== 'herald' && s !== 'bare gateway');
/** The HTTP floor (lib/apns-bare-gateway-worker.ts) runs where the HTTP path does. */
const bareGateway = senders.includes('bare gateway') && submitPaths.includes('http');
/** Herald builds measured: this tree's, and BENCH_BEFORE_CLI's when set. */
const builds = senders.includes('herald') ? heraldBuilds() : [];
/** Requests in flight for every sender: the raw client's window, node-apn's 2 × 500, Herald's maxConcurrentStreams. */
const IN_FLIGHT = 1_000;
const NODE_APN_CHUNK = 500;
/** Herald's chunk jobs and notification jobs run at once (queue.concurrency); BENCH_APNS_QUEUE_CONCURRENCY overrides. */
const QUEUE_CONCURRENCY = Number(process.env.BENCH_APNS_QUEUE_CONCURRENCY ?? 64);
/** HTTP requests in flight while N single-token notifications are submitted; BENCH_APNS_SUBMIT_WINDOW overrides. */
const SUBMIT_WINDOW = Number(process.env.BENCH_APNS_SUBMIT_WINDOW ?? 64);
/** Notifications per call of a bulk producer (one envelope's worth); BENCH_APNS_BULK_CHUNK overrides. */
const BULK_CHUNK = Number(process.env.BENCH_APNS_BULK_CHUNK ?? 1_000);
/**
 * Notifications (of N × 1) or tokens (of 1 × N) each sender sends unmeasured before its
 * run; BENCH_APNS_WARM_UP overrides. 1,000 left Herald's first row of a run half warm:
 * its CPU per one-token notification was 368–426 µs after 1,000 and 196–214 after 5,000,
 * where a second row of the same run (warmed by the first) measured 180–196.
 */
const WARM_UP = Number(process.env.BENCH_APNS_WARM_UP ?? 5_000);
/**
 * Rounds per shape and latency: 3 in the full run, 1 with --quick; BENCH_APNS_ROUNDS
 * overrides. One round of one-token rows ranged 0.31–0.73 for the same build on this
 * 2-core machine, too wide for one run to say which side of 0.5 a build is on.
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_APNS_ROUNDS ?? (quick ? 1 : 3)));
const beforeReadsEnvelopes = process.env.BENCH_BEFORE_ENVELOPES === '1';

type RawSender = 'raw http2' | 'node-apn';
type SubmitPath = (typeof submitPaths)[number];
/** What takes notifications over HTTP: a Herald build, or the bare gateway. */
interface GatewayTarget {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
}
/** One way into one running Herald build, or the bare gateway's one way in (HTTP). */
interface GatewayPath {
  readonly target: GatewayTarget;
  readonly submit: SubmitPath;
  /** The bulk producer of `sendMany` and `addBulk`. */
  readonly producer?: BulkProducer;
}
/** A raw client, or a gateway (a running Herald build, or the bare gateway) and how notifications reach it. */
type Sender = RawSender | GatewayPath;

const via: Record<RawSender | SubmitPath, string> = {
  'raw http2': `node:http2, ${IN_FLIGHT} streams`,
  'node-apn': `send() of ${NODE_APN_CHUNK}, 2 at once`,
  http: `signed POST, ${SUBMIT_WINDOW} in flight`,
  sendMany: `herald/client sendMany of ${BULK_CHUNK} (envelopes)`,
  addBulk: `BullMQ addBulk of ${BULK_CHUNK} notify jobs`,
};
const BARE_GATEWAY = 'bare gateway';
const nameOf = (sender: Sender): string => (typeof sender === 'string' ? sender : sender.target.name);
const viaOf = (sender: Sender): string => via[typeof sender === 'string' ? sender : sender.submit];

interface Measured extends MeasuredRun {
  readonly row: Row;
  readonly perSecond: number;
}

let nextToken = 0;

interface BenchContext {
  fixture: IpcChild;
  info: FixtureInfo;
  raw: IpcChild;
  redis: BenchRedis;
}

/** Hands `count` notifications of `shape` to `sender` and waits until the fixture has answered them all. */
async function send(sender: Sender, shape: ApnsShape, firstToken: number, count: number, ctx: BenchContext): Promise<{ reportedFailures: number; firstError?: string }> {
  if (typeof sender !== 'string') {
    if (sender.producer) await sender.producer.submit(firstToken, count, BULK_CHUNK);
    else if (shape === 'broadcast') await submitBroadcast(sender.target.baseUrl, firstToken, count);
    else await submitIndividually(sender.target.baseUrl, firstToken, count, SUBMIT_WINDOW);
    const done = await waitForFixture(ctx.fixture, count, { idleMs: 10_000, timeoutMs: 600_000 });
    return { reportedFailures: done.refused };
  }
  const method = sender === 'raw http2' ? 'rawHttp2' : 'nodeApn';
  const result = await ctx.raw.call<RawRunResult>(method, { fixture: ctx.info, shape, count, firstToken, window: IN_FLIGHT, chunk: NODE_APN_CHUNK }, 600_000);
  return { reportedFailures: result.failed, ...(result.firstError === undefined ? {} : { firstError: result.firstError }) };
}

/**
 * The same path, shape and latency with WARM_UP notifications (tokens) first, unmeasured:
 * every sender is measured warm, as a long-running sender is, rather than paying its JIT
 * compilation inside a run of a few seconds. The fixture's record of it is dropped.
 */
async function warmUp(sender: Sender, shape: ApnsShape, ctx: BenchContext): Promise<void> {
  const count = Math.min(WARM_UP, counts[shape]);
  const firstToken = nextToken;
  nextToken += count;
  await send(sender, shape, firstToken, count, ctx);
  await ctx.fixture.call<FixtureSample>('sample');
}

async function measure(
  sender: Sender,
  shape: ApnsShape,
  latencyMs: number,
  ctx: BenchContext,
): Promise<Measured> {
  await warmUp(sender, shape, ctx);
  const count = counts[shape];
  const firstToken = nextToken;
  nextToken += count;
  const senderPid = typeof sender === 'string' ? ctx.raw.pid : sender.target.pid;
  const cpu = { sender: cpuSeconds(senderPid), senderMain: mainThreadCpuSeconds(senderPid), redis: cpuSeconds(ctx.redis.pid), fixture: cpuSeconds(ctx.fixture.pid), producer: process.cpuUsage() };
  const redisBefore = await redisCounts(ctx.redis.url);
  const started = epochMs();
  const { reportedFailures, firstError } = await send(sender, shape, firstToken, count, ctx);
  const producerCpu = process.cpuUsage(cpu.producer);
  const sample = await ctx.fixture.call<FixtureSample>('sample');
  const redisRan = countsBetween(redisBefore, await redisCounts(ctx.redis.url));
  const used = {
    sender: cpuSeconds(senderPid) - cpu.sender,
    senderMain: mainThreadCpuSeconds(senderPid) - cpu.senderMain,
    redis: cpuSeconds(ctx.redis.pid) - cpu.redis,
    fixture: cpuSeconds(ctx.fixture.pid) - cpu.fixture,
    producer: (producerCpu.user + producerCpu.system) / 1e6,
  };
  const seconds = (sample.lastAnsweredAt - started) / 1000;
  const [p50, p99, max] = percentiles(sample.latencies, [50, 99, 100]);
  const perSecond = sample.accepted / seconds;
  const micros = (s: number): number => (s * 1e6) / Math.max(1, sample.accepted);
  const throughGateway = typeof sender !== 'string';
  return {
    perSecond,
    units: sample.accepted,
    seconds,
    cpuSeconds: used.sender,
    row: {
      sender: nameOf(sender),
      via: viaOf(sender),
      shape: shape === 'broadcast' ? `1 × ${count} tokens` : `${count} × 1 token`,
      'latency ms': latencyMs,
      accepted: sample.accepted,
      failed: count - sample.accepted,
      duplicates: sample.duplicates,
      'notif/s': Math.round(perSecond),
      // Filled in once the round's raw client has run: every other round runs it last.
      '÷ raw http2': Number.NaN,
      'in flight mean': Math.round(sample.meanInFlight),
      'in flight peak': sample.peakInFlight,
      'p50 ms': p50 ?? Number.NaN,
      'p99 ms': p99 ?? Number.NaN,
      'max ms': max ?? Number.NaN,
      // The raw client's process, or the gateway's (Herald's daemon, the bare gateway).
      'sender cpu µs/n': micros(used.sender),
      // Its main thread alone (the event loop): what bounds a one-process sender on a shared machine.
      'main thread µs/n': micros(used.senderMain),
      // This process handing notifications to the gateway (HTTP requests, or herald/client and BullMQ calls).
      'producer cpu µs/n': throughGateway ? micros(used.producer) : 0,
      'redis cpu µs/n': throughGateway ? micros(used.redis) : 0,
      // Commands Redis executed per notification, producer's and daemon's, those run inside scripts included.
      'redis cmds/n': throughGateway ? redisRan.commands / sample.accepted : 0,
      'redis scripts/n': throughGateway ? redisRan.scripts / sample.accepted : 0,
      'fixture cpu µs/n': micros(used.fixture),
      ...(reportedFailures > 0 ? { 'first error': firstError ?? `${reportedFailures} refused` } : {}),
    },
  };
}

function heraldConfig(info: FixtureInfo, redis: BenchRedis, index: number): Record<string, unknown> {
  return {
    // Each build on its own queues and keys of the one Redis.
    redis: { url: redis.url, keyPrefix: `bench${index}` },
    queue: { prefix: `bench${index}`, concurrency: QUEUE_CONCURRENCY, chunkSize: 500 },
    apps: [benchApnsApp(info, IN_FLIGHT)],
  };
}

/**
 * The ways into each build: HTTP always; for N × 1 the bulk producers too. A before
 * build gets a sendMany row only when BENCH_BEFORE_ENVELOPES=1 says its daemon reads
 * envelope jobs (builds older than envelopes know `notify` jobs only: addBulk).
 */
function heraldPaths(target: HeraldTarget, index: number, redis: BenchRedis, current: boolean): GatewayPath[] {
  const layout = { prefix: `bench${index}`, keyPrefix: `bench${index}` };
  const paths: GatewayPath[] = [];
  for (const submit of submitPaths) {
    if (submit === 'http') paths.push({ target, submit });
    else if (submit === 'sendMany' && (current || beforeReadsEnvelopes)) paths.push({ target, submit, producer: sendManyProducer({ redis: redis.url, ...layout, chunkSize: 500 }) });
    else if (submit === 'addBulk') paths.push({ target, submit, producer: addBulkProducer({ url: redis.url, prefix: layout.prefix }) });
  }
  return paths;
}

/** A sender's throughput ÷ the raw client's in the same round (NaN when either did not run). */
function roundRatio(round: ReadonlyMap<Sender, Measured>, sender: Sender): number {
  return ratio(round.get(sender)?.perSecond ?? Number.NaN, round.get('raw http2')?.perSecond ?? Number.NaN);
}

/**
 * Each gateway path against the raw client over all rounds: the ratio of their totals and,
 * with several rounds, the median of the rounds' ratios and the lowest and highest; each
 * Herald HTTP path against the bare gateway's too, when it ran.
 */
function roundRatios(rounds: ReadonlyArray<ReadonlyMap<Sender, Measured>>, gatewaySenders: readonly GatewayPath[], label: string): Record<string, number> {
  const ratios: Record<string, number> = {};
  const runsOf = (sender: Sender): Measured[] => rounds.flatMap((round) => round.get(sender) ?? []);
  const raw = runsOf('raw http2');
  const floor = gatewaySenders.find((path) => path.target.name === BARE_GATEWAY);
  for (const path of gatewaySenders) {
    const key = `${path.target.name} ${path.submit} / raw http2, ${label}`;
    ratios[key] = raw.length === 0 ? Number.NaN : ratio(runTotals(runsOf(path)).perSecond, runTotals(raw).perSecond);
    // Herald's HTTP path against the floor any node gateway of its shape stands on.
    if (floor && path !== floor && path.submit === 'http') ratios[`${path.target.name} http / ${BARE_GATEWAY} http, ${label}`] = ratio(runTotals(runsOf(path)).perSecond, runTotals(runsOf(floor)).perSecond);
    if (rounds.length < 2) continue;
    const each = rounds.map((round) => roundRatio(round, path));
    Object.assign(ratios, { [`${key}, median of ${rounds.length} rounds`]: median(each), [`${key}, lowest round`]: Math.min(...each), [`${key}, highest round`]: Math.max(...each) });
  }
  return ratios;
}

async function main(): Promise<void> {
  const fixture = await IpcChild.start(new URL('./lib/apns-fixture-worker.ts', import.meta.url));
  const raw = await IpcChild.start(new URL('./lib/apns-raw-sender-worker.ts', import.meta.url));
  const redis = await startBenchRedis();
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const heralds: HeraldTarget[] = [];
  let gateway: IpcChild | undefined;
  const paths: GatewayPath[] = [];
  try {
    const info = await fixture.call<FixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: IN_FLIGHT });
    for (const [index, build] of builds.entries()) {
      const target = await startHerald({ build, config: heraldConfig(info, redis, index) });
      heralds.push(target);
      paths.push(...heraldPaths(target, index, redis, index === 0));
    }
    if (bareGateway) {
      gateway = await IpcChild.start(new URL('./lib/apns-bare-gateway-worker.ts', import.meta.url));
      const port = await gateway.call<number>('start', { fixture: info, maxStreams: IN_FLIGHT });
      paths.push({ target: { name: BARE_GATEWAY, pid: gateway.pid, baseUrl: `http://127.0.0.1:${port}` }, submit: 'http' });
    }
    const ctx = { fixture, info, raw, redis };
    for (const latencyMs of latencies) {
      await fixture.call('setLatency', { latencyMs });
      for (const shape of shapes) {
        const gatewaySenders = paths.filter((p) => shape === 'individual' || p.submit === 'http');
        const senders: Sender[] = [...rawSenders, ...gatewaySenders];
        const rounds: Array<Map<Sender, Measured>> = [];
        for (let round = 0; round < ROUNDS; round += 1) {
          const results = new Map<Sender, Measured>();
          for (const sender of round % 2 === 0 ? senders : [...senders].reverse()) results.set(sender, await measure(sender, shape, latencyMs, ctx));
          for (const sender of senders) {
            const measured = results.get(sender);
            if (measured) rows.push({ round: round + 1, ...measured.row, '÷ raw http2': roundRatio(results, sender) });
          }
          rounds.push(results);
        }
        Object.assign(ratios, roundRatios(rounds, gatewaySenders, `${shape} @${latencyMs} ms`));
      }
    }
  } finally {
    for (const path of paths) await path.producer?.close();
    for (const herald of heralds) await herald.stop();
    await gateway?.call('stop').catch(() => {});
    await gateway?.stop();
    await raw.stop();
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
    await redis.stop();
  }
  report('apns', rows, { ...ratios, rounds: ROUNDS, inFlight: IN_FLIGHT, queueConcurrency: QUEUE_CONCURRENCY, nodeApnChunk: NODE_APN_CHUNK, submitWindow: SUBMIT_WINDOW, bulkChunk: BULK_CHUNK });
}

await main();
