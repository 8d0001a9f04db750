/**
 * Realtime fanout: C subscribers on one channel, E events published over the HTTP API.
 * Herald against the minimal `ws` broadcast server, same clients, same run.
 *
 *   npm run bench -- fanout [--quick]
 */
import { cpus } from 'node:os';
import { epochMs } from './lib/clock.js';
import { cpuSeconds } from './lib/proc.js';
import { publishWindowed } from './lib/publisher.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { percentiles, ratio } from './lib/stats.js';
import { SubscriberFleet } from './lib/subscriber-fleet.js';
import { startHerald, startRawWsServer } from './lib/targets.js';
import type { BroadcastTarget } from './lib/targets.js';

/** Subscribers and events per scenario: about half a million deliveries each in the full run. */
const scenarios = quick
  ? [{ subscribers: 200, events: 200 }]
  : [
      { subscribers: 1_000, events: 500 },
      { subscribers: 10_000, events: 50 },
    ];
const CHANNEL = 'bench-fanout';
/** HTTP publishes in flight at once. */
const WINDOW = 2;
const WARMUP_EVENTS = 20;

export interface FanoutResult {
  readonly row: Row;
  readonly delivered: number;
  readonly seconds: number;
  readonly serverCpuSeconds: number;
}

/** Connects `subscribers`, publishes `events`, waits for every delivery (or stops when deliveries stall). */
export async function runFanout(target: BroadcastTarget, fleet: SubscriberFleet, subscribers: number, events: number): Promise<FanoutResult> {
  const connect = await fleet.connect(target.wsUrl, subscribers, CHANNEL);
  if (connect.connected !== subscribers) throw new Error(`${target.name}: ${connect.connected}/${subscribers} connected; first error: ${connect.firstError}`);

  // Warm-up: the JIT and the sockets' buffers, then discard what it recorded.
  await publishWindowed(WARMUP_EVENTS, WINDOW, (i) => target.publish(CHANNEL, 'bench', JSON.stringify({ t: epochMs(), i })));
  await fleet.waitForDelivery(WARMUP_EVENTS * subscribers);
  await fleet.drainLatencies();

  const expected = events * subscribers;
  const serverCpu = cpuSeconds(target.pid);
  const clientCpu = fleet.cpuSeconds();
  const started = epochMs();
  await publishWindowed(events, WINDOW, (i) => target.publish(CHANNEL, 'bench', JSON.stringify({ t: epochMs(), i })));
  const counters = await fleet.waitForDelivery(expected, { idleMs: 3_000, timeoutMs: 180_000 });
  const serverCpuSeconds = cpuSeconds(target.pid) - serverCpu;
  const clientCpuSeconds = fleet.cpuSeconds() - clientCpu;
  const seconds = (counters.lastAt - started) / 1000;
  const latencies = await fleet.drainLatencies();
  const [p50, p99, max] = percentiles(latencies, [50, 99, 100]);
  await fleet.closeAll();

  const delivered = latencies.length;
  const deliveredPerSecond = delivered / seconds;
  const cpuMicrosPerMessage = (serverCpuSeconds * 1e6) / delivered;
  return {
    delivered,
    seconds,
    serverCpuSeconds,
    row: {
      server: target.name,
      subscribers,
      events,
      connectPerSec: Math.round(connect.perSecond),
      delivered,
      lost: expected - delivered,
      closedByServer: Object.values(counters.closes).reduce((a, b) => a + b, 0),
      'msgs/s': Math.round(deliveredPerSecond),
      'p50 ms': p50 ?? Number.NaN,
      'p99 ms': p99 ?? Number.NaN,
      'max ms': max ?? Number.NaN,
      'server cpu s': serverCpuSeconds,
      'server cpu %': (100 * serverCpuSeconds) / seconds,
      'cpu µs/msg': cpuMicrosPerMessage,
      'clients cpu s': clientCpuSeconds,
    },
  };
}

/** Sums of several rounds: throughput over the total time, CPU over the total deliveries. */
function totals(results: readonly FanoutResult[]): { perSecond: number; cpuMicrosPerMessage: number } {
  const delivered = results.reduce((sum, r) => sum + r.delivered, 0);
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
  const cpu = results.reduce((sum, r) => sum + r.serverCpuSeconds, 0);
  return { perSecond: delivered / seconds, cpuMicrosPerMessage: (cpu * 1e6) / delivered };
}

async function main(): Promise<void> {
  const processes = Math.max(2, Math.min(4, cpus().length));
  // Two rounds in the full run, the second in the opposite order, so neither server always goes first.
  const rounds = quick ? 1 : 2;
  const fleet = await SubscriberFleet.start(processes);
  const raw = await startRawWsServer();
  const herald = await startHerald();
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  try {
    for (const { subscribers, events } of scenarios) {
      const results = new Map<BroadcastTarget, FanoutResult[]>([[raw, []], [herald, []]]);
      for (let round = 0; round < rounds; round += 1) {
        for (const target of round % 2 === 0 ? [raw, herald] : [herald, raw]) {
          const result = await runFanout(target, fleet, subscribers, events);
          results.get(target)?.push(result);
          rows.push({ round: round + 1, ...result.row });
        }
      }
      const baseline = totals(results.get(raw) ?? []);
      const measured = totals(results.get(herald) ?? []);
      ratios[`throughput herald/raw @${subscribers}`] = ratio(measured.perSecond, baseline.perSecond);
      // The load generator shares the cores with the server: CPU per delivered message is the fairer comparison.
      ratios[`cpu efficiency raw/herald @${subscribers} (raw µs/msg ÷ herald µs/msg)`] = ratio(baseline.cpuMicrosPerMessage, measured.cpuMicrosPerMessage);
    }
  } finally {
    await herald.stop();
    await raw.stop();
    await fleet.stop();
  }
  report('fanout', rows, { ...ratios, clientProcesses: processes, publishWindow: WINDOW, rounds });
}

await main();
