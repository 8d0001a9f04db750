/**
 * Idle connections: N pusher-protocol sockets subscribed to one channel, opened from
 * several 127.0.0.x source addresses. Server RSS per connection, connect rate, and the
 * time one event takes to reach all of them. Herald against the minimal `ws` server.
 *
 *   npm run bench -- connections [--quick]
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { epochMs } from './lib/clock.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { percentiles, ratio } from './lib/stats.js';
import { SubscriberFleet } from './lib/subscriber-fleet.js';
import { startHerald, startRawWsServer } from './lib/targets.js';
import type { BroadcastTarget } from './lib/targets.js';

const CHANNEL = 'bench-idle';
/** Descriptors the bench needs besides the sockets (each process: stdio, IPC, modules, listeners). */
const FD_MARGIN = 500;

/** The soft and hard limits on open files, as every child of this process inherits them. */
function openFileLimits(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const parse = (v: string | undefined): number => (v === undefined || v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: parse(line?.[1]), hard: parse(line?.[2]) };
}

async function settledRss(pid: number): Promise<number> {
  // Let deferred work (timers, GC of handshake garbage) run before reading.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return rssBytes(pid);
}

interface IdleResult {
  readonly row: Row;
  readonly rssPerConnection: number;
}

async function runIdle(start: () => Promise<BroadcastTarget>, fleet: SubscriberFleet, count: number): Promise<IdleResult> {
  // A fresh server per measurement, so the RSS delta holds these sockets only.
  const target = await start();
  try {
    const rssBefore = await settledRss(target.pid);
    const cpuBefore = cpuSeconds(target.pid);
    const connect = await fleet.connect(target.wsUrl, count, CHANNEL, { concurrency: 200, timeoutMs: 60_000 });
    if (connect.connected !== count) throw new Error(`${target.name}: ${connect.connected}/${count} connected; first error: ${connect.firstError}`);
    const connectCpu = cpuSeconds(target.pid) - cpuBefore;
    const rssAfter = await settledRss(target.pid);

    const published = epochMs();
    await target.publish(CHANNEL, 'bench', JSON.stringify({ t: published }));
    const counters = await fleet.waitForDelivery(count, { idleMs: 5_000, timeoutMs: 60_000 });
    const latencies = await fleet.drainLatencies();
    const [p50, max] = percentiles(latencies, [50, 100]);
    await fleet.closeAll();

    const rssPerConnection = (rssAfter - rssBefore) / count;
    return {
      rssPerConnection,
      row: {
        server: target.name,
        connections: count,
        'connect/s': Math.round(connect.perSecond),
        'connect cpu µs/conn': (connectCpu * 1e6) / count,
        'rss before MB': rssBefore / 2 ** 20,
        'rss after MB': rssAfter / 2 ** 20,
        'KB/conn': rssPerConnection / 1024,
        'broadcast all ms': counters.lastAt - published,
        'broadcast p50 ms': p50 ?? Number.NaN,
        'broadcast max ms': max ?? Number.NaN,
        received: counters.received,
        lost: count - counters.received,
      },
    };
  } finally {
    await target.stop();
  }
}

async function main(): Promise<void> {
  const limits = openFileLimits();
  const wanted = quick ? [2_000] : [10_000, 50_000];
  // The server holds every socket in one process; the clients split them over theirs.
  const counts = wanted.filter((n) => n + FD_MARGIN <= limits.soft);
  const skipped = wanted.filter((n) => !counts.includes(n)).map((n) => `${n}: open-file limit is ${limits.soft} (hard ${limits.hard}); raise it with ulimit -n`);
  const processes = Math.max(2, Math.min(4, cpus().length));
  const fleet = await SubscriberFleet.start(processes);
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  try {
    for (const count of counts) {
      const baseline = await runIdle(startRawWsServer, fleet, count);
      const measured = await runIdle(() => startHerald(), fleet, count);
      rows.push(baseline.row, measured.row);
      ratios[`rss per connection herald/raw @${count}`] = ratio(measured.rssPerConnection, baseline.rssPerConnection);
    }
  } finally {
    await fleet.stop();
  }
  report('connections', rows, { ...ratios, openFileLimit: limits.soft, skipped, clientProcesses: processes });
}

await main();
