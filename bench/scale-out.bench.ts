/**
 * Scale-out: the fanout benchmark with 1 and with 3 Herald processes on one Redis.
 * Subscribers are spread evenly over the nodes; publishes go to the nodes in turn, so
 * every event crosses Redis to reach most subscribers. CPU counts every node and Redis.
 *
 *   npm run bench -- scale-out [--quick]
 */
import { cpus } from 'node:os';
import { startBenchRedis } from './lib/bench-redis.js';
import type { BenchRedis } from './lib/bench-redis.js';
import { fanoutTotals, PUBLISH_WINDOW, runFanout } from './lib/fanout-run.js';
import type { FanoutSystem } from './lib/fanout-run.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { ratio } from './lib/stats.js';
import { SubscriberFleet } from './lib/subscriber-fleet.js';
import { startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const { subscribers, events } = quick ? { subscribers: 300, events: 100 } : { subscribers: 3_000, events: 150 };

async function cluster(nodes: number, redis: BenchRedis): Promise<{ system: FanoutSystem; stop: () => Promise<void> }> {
  const members: HeraldTarget[] = [];
  try {
    for (let i = 0; i < nodes; i += 1) members.push(await startHerald({ config: { redis: { url: redis.url } }, name: `herald ×${nodes}` }));
  } catch (err) {
    await Promise.all(members.map((m) => m.stop()));
    throw err;
  }
  let turn = 0;
  return {
    system: {
      name: `herald ×${nodes} + redis`,
      wsUrls: members.map((m) => m.wsUrl),
      publish: (channel, event, data) => {
        const node = members[turn++ % members.length];
        if (!node) throw new Error('no node');
        return node.publish(channel, event, data);
      },
      pids: [...members.map((m) => m.pid), redis.pid],
    },
    stop: async () => {
      await Promise.all(members.map((m) => m.stop()));
    },
  };
}

async function main(): Promise<void> {
  const processes = Math.max(2, Math.min(4, cpus().length));
  const fleet = await SubscriberFleet.start(processes);
  const redis = await startBenchRedis();
  const rows: Row[] = [];
  const totals = new Map<number, ReturnType<typeof fanoutTotals>>();
  try {
    for (const nodes of [1, 3]) {
      const { system, stop } = await cluster(nodes, redis);
      try {
        const result = await runFanout(system, fleet, subscribers, events);
        rows.push({ nodes, ...result.row });
        totals.set(nodes, fanoutTotals([result]));
      } finally {
        await stop();
      }
    }
  } finally {
    await redis.stop();
    await fleet.stop();
  }
  const one = totals.get(1);
  const three = totals.get(3);
  report('scale-out', rows, {
    'throughput 3 nodes / 1 node': ratio(three?.perSecond ?? Number.NaN, one?.perSecond ?? Number.NaN),
    'cpu per message 3 nodes / 1 node': ratio(three?.cpuMicrosPerMessage ?? Number.NaN, one?.cpuMicrosPerMessage ?? Number.NaN),
    clientProcesses: processes,
    publishWindow: PUBLISH_WINDOW,
  });
}

await main();
