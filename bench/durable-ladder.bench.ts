/**
 * The durable ladder: where the signed HTTP row's cost goes, measured upward from the
 * smallest durable gateway rather than downward from Herald. One-token notifications
 * through signed HTTP, 64 in flight, against the APNs fixture at 0 ms: to the bare gateway
 * (which keeps nothing), to each rung of bench/lib/durable-gateway-worker.ts (a durable
 * floor, then + Herald's signature check, + its validation, + a BullMQ envelope, + its
 * status script), to Herald itself, and by the raw node:http2 client, all in the same
 * rounds. Each row reports throughput ÷ the
 * raw client's, and the CPU per notification of the gateway's main thread, its whole
 * process and Redis, so each layer's cost is the step from the rung below.
 *
 *   npm run bench -- durable-ladder [--quick]
 *
 * BENCH_LADDER_ROUNDS sets the rounds (3 full, 1 quick).
 */
import type { FixtureInfo } from './lib/apns-fixture-worker.js';
import { benchApnsApp, waitForFixture } from './lib/apns-fixture.js';
import { submitIndividually } from './lib/apns-submit.js';
import type { RawRunResult } from './lib/apns-raw-sender-worker.js';
import { startBenchRedis } from './lib/bench-redis.js';
import { RUNGS } from './lib/durable-rungs.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds, mainThreadCpuSeconds } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import { alternatingRounds, median, ratio, runTotals } from './lib/stats.js';
import type { MeasuredRow } from './lib/stats.js';
import { startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const STREAMS = 1_000;
const IN_FLIGHT = 64;
const COUNT = quick ? 3_000 : 10_000;
const WARM_UP = quick ? 1_000 : 3_000;
const ROUNDS = Number(process.env.BENCH_LADDER_ROUNDS ?? (quick ? 1 : 3));
const RAW = 'raw http2';

interface Gateway {
  readonly name: string;
  readonly pid: number;
  /** Where signed requests go; none for the raw client. */
  readonly baseUrl?: string;
}

interface Measured extends MeasuredRow {
  readonly mainSeconds: number;
  readonly redisSeconds: number;
}

/** µs of the main thread's or Redis's CPU per notification over `runs`, as runTotals counts the process's. */
function microsPerUnit(runs: readonly Measured[], part: 'mainSeconds' | 'redisSeconds'): number {
  return runTotals(runs.map((run) => ({ units: run.units, seconds: run.seconds, cpuSeconds: run[part] }))).cpuMicrosPerUnit;
}

let nextToken = 0;

async function main(): Promise<void> {
  const fixture = await IpcChild.start(new URL('./lib/apns-fixture-worker.ts', import.meta.url));
  const raw = await IpcChild.start(new URL('./lib/apns-raw-sender-worker.ts', import.meta.url));
  const redis = await startBenchRedis();
  const children: IpcChild[] = [];
  let herald: HeraldTarget | undefined;
  try {
    const info = await fixture.call<FixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: STREAMS });
    const gateways: Gateway[] = [{ name: RAW, pid: raw.pid }];
    // Below the first rung: the bare gateway, which keeps nothing (the APNs bench's floor).
    const bare = await IpcChild.start(new URL('./lib/apns-bare-gateway-worker.ts', import.meta.url));
    children.push(bare);
    gateways.push({ name: 'bare gateway', pid: bare.pid, baseUrl: `http://127.0.0.1:${await bare.call<number>('start', { fixture: info, maxStreams: STREAMS })}` });
    for (const rung of RUNGS) {
      const child = await IpcChild.start(new URL('./lib/durable-gateway-worker.ts', import.meta.url));
      children.push(child);
      const port = await child.call<number>('start', { fixture: info, maxStreams: STREAMS, redis: redis.url, rung });
      gateways.push({ name: rung === 'floor' ? 'durable floor' : `+ ${rung}`, pid: child.pid, baseUrl: `http://127.0.0.1:${port}` });
    }
    herald = await startHerald({ config: { redis: { url: redis.url, keyPrefix: 'ladder-herald' }, queue: { prefix: 'ladder-herald', concurrency: IN_FLIGHT }, apps: [benchApnsApp(info, STREAMS)] } });
    gateways.push({ name: 'herald', pid: herald.pid, baseUrl: herald.baseUrl });

    const send = async (gateway: Gateway, count: number): Promise<number> => {
      const first = nextToken;
      nextToken += count;
      if (gateway.baseUrl) await submitIndividually(gateway.baseUrl, first, count, IN_FLIGHT);
      else await raw.call<RawRunResult>('rawHttp2', { fixture: info, shape: 'individual', count, firstToken: first, window: STREAMS }, 600_000);
      const answered = await waitForFixture(fixture, count, { idleMs: 10_000, timeoutMs: 600_000 });
      await fixture.call('sample');
      return answered.accepted;
    };

    const measure = async (gateway: Gateway): Promise<Measured> => {
      await send(gateway, WARM_UP);
      const before = { cpu: cpuSeconds(gateway.pid), main: mainThreadCpuSeconds(gateway.pid), redis: cpuSeconds(redis.pid) };
      const started = performance.now();
      const accepted = await send(gateway, COUNT);
      const seconds = (performance.now() - started) / 1000;
      const used = { cpu: cpuSeconds(gateway.pid) - before.cpu, main: mainThreadCpuSeconds(gateway.pid) - before.main, redis: cpuSeconds(redis.pid) - before.redis };
      const micros = (s: number): number => (s * 1e6) / COUNT;
      return {
        units: COUNT,
        seconds,
        cpuSeconds: used.cpu,
        mainSeconds: used.main,
        redisSeconds: used.redis,
        row: {
          gateway: gateway.name,
          notifications: COUNT,
          accepted,
          'notif/s': Math.round(COUNT / seconds),
          'main thread µs/n': micros(used.main),
          'process cpu µs/n': micros(used.cpu),
          'redis cpu µs/n': gateway.baseUrl ? micros(used.redis) : 0,
        },
      };
    };

    const { runs, rows } = await alternatingRounds(gateways, ROUNDS, measure);
    const rawRuns = runs.get(gateways[0]!) ?? [];
    // Each row against the raw client of its own round.
    rows.forEach((row, index) => {
      const round = Math.floor(index / gateways.length);
      const rawRow = rawRuns[round]?.row;
      row['÷ raw http2'] = ratio(Number(row['notif/s']), Number(rawRow?.['notif/s']));
    });
    const ratios: Record<string, number> = {};
    const rawTotal = runTotals(rawRuns).perSecond;
    let below: Measured[] | undefined;
    for (const gateway of gateways.slice(1)) {
      const own = runs.get(gateway) ?? [];
      const key = `${gateway.name} / ${RAW}`;
      ratios[key] = ratio(runTotals(own).perSecond, rawTotal);
      if (ROUNDS > 1) ratios[`${key}, median of ${ROUNDS} rounds`] = median(own.map((run, round) => ratio(runTotals([run]).perSecond, runTotals(rawRuns.slice(round, round + 1)).perSecond)));
      ratios[`${gateway.name}: main thread µs/n`] = microsPerUnit(own, 'mainSeconds');
      ratios[`${gateway.name}: redis cpu µs/n`] = microsPerUnit(own, 'redisSeconds');
      if (below) {
        ratios[`${gateway.name}: main thread µs/n over the rung below`] = microsPerUnit(own, 'mainSeconds') - microsPerUnit(below, 'mainSeconds');
        ratios[`${gateway.name}: redis cpu µs/n over the rung below`] = microsPerUnit(own, 'redisSeconds') - microsPerUnit(below, 'redisSeconds');
      }
      below = own;
    }
    report('durable-ladder', rows, { ...ratios, rounds: ROUNDS, inFlight: IN_FLIGHT, notifications: COUNT });
  } finally {
    await herald?.stop();
    for (const child of children) {
      await child.call('stop').catch(() => {});
      await child.stop();
    }
    await raw.stop();
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
    await redis.stop();
  }
}

await main();
