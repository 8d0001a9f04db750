/**
 * What the debug console costs the gateway: the fanout bench against two daemons with the
 * console enabled, one with a viewer attached to the bench app and one without, same run.
 * Reports the server's CPU per delivered message of each and their ratio.
 *
 *   npm run bench -- console [--quick]
 */
import { cpus } from 'node:os';
import { fanoutTotals, PUBLISH_WINDOW, runFanout } from './lib/fanout-run.js';
import type { FanoutResult, FanoutSystem } from './lib/fanout-run.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { ratio } from './lib/stats.js';
import { SubscriberFleet } from './lib/subscriber-fleet.js';
import { BENCH_APP, startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const TOKEN = 'console-token-for-the-bench-run';
const scenarios = quick ? [{ subscribers: 200, events: 200 }] : [{ subscribers: 1_000, events: 500 }];

/** A browser's share of the work, minus the browser: reads the SSE stream and counts what arrives. */
async function attachViewer(target: HeraldTarget): Promise<{ stop(): void; frames(): number; bytes(): number }> {
  const aborter = new AbortController();
  const response = await fetch(`${target.baseUrl}/console/api/stream?app=${BENCH_APP.id}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: aborter.signal });
  if (response.status !== 200 || !response.body) throw new Error(`console stream: HTTP ${response.status}`);
  let frames = 0;
  let bytes = 0;
  void (async () => {
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        // Each SSE frame ends in a blank line; comments (pings) are not counted.
        const blocks = (pending + decoder.decode(chunk, { stream: true })).split('\n\n');
        pending = blocks.pop() ?? '';
        frames += blocks.filter((block) => block.startsWith('event: ')).length;
      }
    } catch {
      // Aborted at the end of the run.
    }
  })();
  return { stop: () => aborter.abort(), frames: () => frames, bytes: () => bytes };
}

const systemOf = (target: HeraldTarget): FanoutSystem => ({ name: target.name, wsUrls: [target.wsUrl], publish: target.publish, pids: [target.pid] });

async function main(): Promise<void> {
  const processes = Math.max(2, Math.min(4, cpus().length));
  const rounds = quick ? 1 : 2;
  const fleet = await SubscriberFleet.start(processes);
  const config = { console: { enabled: true, token: TOKEN } };
  const targets: HeraldTarget[] = [];
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  let viewer: Awaited<ReturnType<typeof attachViewer>> | undefined;
  try {
    targets.push(await startHerald({ config, name: 'herald (console, no viewer)' }));
    targets.push(await startHerald({ config, name: 'herald (console, 1 viewer)' }));
    viewer = await attachViewer(targets[1] as HeraldTarget);
    const [none, watched] = targets.map(systemOf) as [FanoutSystem, FanoutSystem];
    for (const { subscribers, events } of scenarios) {
      const results = new Map<FanoutSystem, FanoutResult[]>([[none, []], [watched, []]]);
      for (let round = 0; round < rounds; round += 1) {
        for (const system of round % 2 === 0 ? [none, watched] : [watched, none]) {
          const result = await runFanout(system, fleet, subscribers, events);
          results.get(system)?.push(result);
          rows.push({ round: round + 1, ...result.row });
        }
      }
      const base = fanoutTotals(results.get(none) ?? []);
      const seen = fanoutTotals(results.get(watched) ?? []);
      ratios[`cpu µs/msg no viewer @${subscribers}`] = base.cpuMicrosPerMessage;
      ratios[`cpu µs/msg 1 viewer @${subscribers}`] = seen.cpuMicrosPerMessage;
      ratios[`cpu cost 1 viewer/no viewer @${subscribers} (µs/msg ÷ µs/msg)`] = ratio(seen.cpuMicrosPerMessage, base.cpuMicrosPerMessage);
      ratios[`throughput 1 viewer/no viewer @${subscribers}`] = ratio(seen.perSecond, base.perSecond);
    }
  } finally {
    viewer?.stop();
    for (const target of targets) await target.stop();
    await fleet.stop();
  }
  report('console', rows, { ...ratios, viewerFrames: viewer?.frames() ?? 0, viewerBytes: viewer?.bytes() ?? 0, clientProcesses: processes, publishWindow: PUBLISH_WINDOW, rounds });
}

await main();
