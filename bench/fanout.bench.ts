/**
 * Realtime fanout: C subscribers on one channel, E events published over the HTTP API.
 * Herald against the minimal `ws` broadcast server, same clients, same run.
 *
 *   npm run bench -- fanout [--quick]
 */
import { cpus } from 'node:os';
import { fanoutTotals, PUBLISH_WINDOW, runFanout } from './lib/fanout-run.js';
import type { FanoutResult, FanoutSystem } from './lib/fanout-run.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { ratio } from './lib/stats.js';
import { SubscriberFleet } from './lib/subscriber-fleet.js';
import { heraldBuilds, startHerald, startRawWsServer } from './lib/targets.js';
import type { BroadcastTarget } from './lib/targets.js';

/** Subscribers and events per scenario: about half a million deliveries each in the full run. */
const scenarios = quick
  ? [{ subscribers: 200, events: 200 }]
  : [
      { subscribers: 1_000, events: 500 },
      { subscribers: 10_000, events: 50 },
    ];

const systemOf = (target: BroadcastTarget): FanoutSystem => ({ name: target.name, wsUrls: [target.wsUrl], publish: target.publish, pids: [target.pid] });

async function main(): Promise<void> {
  const processes = Math.max(2, Math.min(4, cpus().length));
  // Two rounds in the full run, the second in the opposite order, so no server always goes first.
  const rounds = quick ? 1 : 2;
  const fleet = await SubscriberFleet.start(processes);
  const targets: BroadcastTarget[] = [await startRawWsServer()];
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  try {
    for (const build of heraldBuilds()) targets.push(await startHerald({ build }));
    const systems = targets.map(systemOf);
    const [raw, ...heralds] = systems;
    if (!raw) throw new Error('no baseline');
    for (const { subscribers, events } of scenarios) {
      const results = new Map<FanoutSystem, FanoutResult[]>(systems.map((s) => [s, []]));
      for (let round = 0; round < rounds; round += 1) {
        for (const system of round % 2 === 0 ? systems : [...systems].reverse()) {
          const result = await runFanout(system, fleet, subscribers, events);
          results.get(system)?.push(result);
          rows.push({ round: round + 1, ...result.row });
        }
      }
      const baseline = fanoutTotals(results.get(raw) ?? []);
      for (const herald of heralds) {
        const measured = fanoutTotals(results.get(herald) ?? []);
        ratios[`throughput ${herald.name}/raw @${subscribers}`] = ratio(measured.perSecond, baseline.perSecond);
        // The load generator shares the cores with the server: CPU per delivered message is the fairer comparison.
        ratios[`cpu efficiency raw/${herald.name} @${subscribers} (raw µs/msg ÷ herald µs/msg)`] = ratio(baseline.cpuMicrosPerMessage, measured.cpuMicrosPerMessage);
      }
    }
  } finally {
    for (const target of targets) await target.stop();
    await fleet.stop();
  }
  report('fanout', rows, { ...ratios, clientProcesses: processes, publishWindow: PUBLISH_WINDOW, rounds });
}

await main();
