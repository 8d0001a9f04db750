import { epochMs } from './clock.js';
import { cpuSeconds } from './proc.js';
import { publishWindowed } from './publisher.js';
import type { Publish } from './publisher.js';
import type { Row } from './report.js';
import { percentiles, runTotals } from './stats.js';
import type { SubscriberFleet } from './subscriber-fleet.js';

/** One server, or several acting as one: subscribers spread over `wsUrls`, events go to `publish`. */
export interface FanoutSystem {
  readonly name: string;
  readonly wsUrls: readonly string[];
  readonly publish: Publish;
  /** Every process whose CPU counts as the server's (each node, and Redis when there is one). */
  readonly pids: readonly number[];
}

export interface FanoutResult {
  readonly row: Row;
  readonly delivered: number;
  readonly seconds: number;
  readonly serverCpuSeconds: number;
}

export const FANOUT_CHANNEL = 'bench-fanout';
/** HTTP publishes in flight at once. */
export const PUBLISH_WINDOW = 2;
const WARMUP_EVENTS = 20;

const cpuOf = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

function publishStamped(system: FanoutSystem, count: number): Promise<void> {
  return publishWindowed(count, PUBLISH_WINDOW, (i) => system.publish(FANOUT_CHANNEL, 'bench', JSON.stringify({ t: epochMs(), i })));
}

/**
 * Connects `subscribers` (split evenly over the system's URLs), publishes `events` stamped
 * with the send time, and waits for every delivery (or until deliveries stall: the rest
 * is counted lost). Subscribers are closed afterwards.
 */
export async function runFanout(system: FanoutSystem, fleet: SubscriberFleet, subscribers: number, events: number): Promise<FanoutResult> {
  let connectMs = 0;
  for (const [i, url] of system.wsUrls.entries()) {
    const share = Math.floor(subscribers / system.wsUrls.length) + (i < subscribers % system.wsUrls.length ? 1 : 0);
    const connect = await fleet.connect(url, share, FANOUT_CHANNEL);
    if (connect.connected !== share) throw new Error(`${system.name}: ${connect.connected}/${share} connected; first error: ${connect.firstError}`);
    connectMs += connect.ms;
  }

  // Warm-up: the JIT and the sockets' buffers, then discard what it recorded.
  await publishStamped(system, WARMUP_EVENTS);
  await fleet.waitForDelivery(WARMUP_EVENTS * subscribers);
  await fleet.drainLatencies();

  const expected = events * subscribers;
  const serverCpu = cpuOf(system.pids);
  const clientCpu = fleet.cpuSeconds();
  const started = epochMs();
  await publishStamped(system, events);
  const counters = await fleet.waitForDelivery(expected, { idleMs: 3_000, timeoutMs: 180_000 });
  const serverCpuSeconds = cpuOf(system.pids) - serverCpu;
  const clientCpuSeconds = fleet.cpuSeconds() - clientCpu;
  const seconds = (counters.lastAt - started) / 1000;
  const latencies = await fleet.drainLatencies();
  const [p50, p99, max] = percentiles(latencies, [50, 99, 100]);
  await fleet.closeAll();

  const delivered = latencies.length;
  return {
    delivered,
    seconds,
    serverCpuSeconds,
    row: {
      server: system.name,
      subscribers,
      events,
      'connect/s': Math.round(subscribers / (connectMs / 1000)),
      delivered,
      lost: expected - delivered,
      closedByServer: Object.values(counters.closes).reduce((a, b) => a + b, 0),
      'msgs/s': Math.round(delivered / seconds),
      'p50 ms': p50 ?? Number.NaN,
      'p99 ms': p99 ?? Number.NaN,
      'max ms': max ?? Number.NaN,
      'server cpu s': serverCpuSeconds,
      'server cpu %': (100 * serverCpuSeconds) / seconds,
      'cpu µs/msg': (serverCpuSeconds * 1e6) / delivered,
      'clients cpu s': clientCpuSeconds,
    },
  };
}

/** Sums of several rounds: throughput over the total time, CPU over the total deliveries. */
export function fanoutTotals(results: readonly FanoutResult[]): { perSecond: number; cpuMicrosPerMessage: number } {
  const totals = runTotals(results.map((r) => ({ units: r.delivered, seconds: r.seconds, cpuSeconds: r.serverCpuSeconds })));
  return { perSecond: totals.perSecond, cpuMicrosPerMessage: totals.cpuMicrosPerUnit };
}
