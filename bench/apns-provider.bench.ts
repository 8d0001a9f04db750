/**
 * Herald's APNs provider alone against the raw node:http2 client: the same fixture, the
 * same tokens, no queue, no Redis, no HTTP API. The provider runs in a process of its own
 * (bench/lib/apns-provider-worker.ts) and gets its batches as the notification pipeline
 * hands them over: one notification's tokens in batches of a quarter of the app's send
 * budget, four at once (the token round), or one-token notifications, each its own batch,
 * as many at once as the connection has streams. Its CPU per token, beside the raw
 * client's, is what delivery costs Herald before the pipeline around it (the APNs bench
 * measures the whole). BENCH_BEFORE_CLI adds an earlier build's provider.
 *
 *   npm run bench -- apns-provider [--quick]
 */
import { CHECKPOINT_WINDOW } from '../src/notifications/pipeline/send-budget.js';
import type { FixtureInfo } from './lib/apns-fixture-worker.js';
import type { ProviderRunParams, ProviderRunResult, ProviderShape } from './lib/apns-provider-worker.js';
import type { RawRunResult } from './lib/apns-raw-sender-worker.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { alternatingRounds, median, ratio, runTotals } from './lib/stats.js';
import type { MeasuredRow } from './lib/stats.js';
import { heraldBuilds, nodeFlags } from './lib/targets.js';

/** Streams of the one connection, the fixture's limit and the app's, as in the APNs bench. */
const STREAMS = 1_000;
/** What the token round hands the provider at once: a quarter of the send budget (streams + checkpoint window) per batch, four batches. */
const BATCH = Math.ceil((STREAMS + CHECKPOINT_WINDOW) / 4);
const BATCHES_AT_ONCE = 4;
const counts: Record<ProviderShape, number> = quick ? { broadcast: 5_000, individual: 5_000 } : { broadcast: 100_000, individual: 20_000 };
const WARM_UP = quick ? 1_000 : 5_000;
const ROUNDS = Number(process.env.BENCH_PROVIDER_ROUNDS ?? (quick ? 1 : 3));
/** BENCH_PROVIDER_SHAPES=individual narrows the run to the shapes named. */
const named = (process.env.BENCH_PROVIDER_SHAPES ?? '').split(',').filter(Boolean);
const shapes = (['broadcast', 'individual'] as const).filter((shape) => named.length === 0 || named.includes(shape));

interface Sender {
  readonly name: string;
  /** How the tokens reach the fixture, per shape. */
  readonly via: Record<ProviderShape, string>;
  readonly child: IpcChild;
  /** Hands `count` tokens from `firstToken` to the sender and waits until every one is answered. */
  send(shape: ProviderShape, firstToken: number, count: number): Promise<{ delivered: number; problem?: string }>;
}

let nextToken = 0;

function rawSender(child: IpcChild, fixture: FixtureInfo): Sender {
  return {
    name: 'raw http2',
    via: { broadcast: `node:http2, ${STREAMS} streams`, individual: `node:http2, ${STREAMS} streams` },
    child,
    async send(shape, firstToken, count) {
      const result = await child.call<RawRunResult>('rawHttp2', { fixture, shape, count, firstToken, window: STREAMS }, 600_000);
      return { delivered: result.accepted, ...(result.firstError === undefined ? {} : { problem: result.firstError }) };
    },
  };
}

function providerSender(name: string, child: IpcChild): Sender {
  return {
    name,
    via: { broadcast: `batches of ${BATCH}, ${BATCHES_AT_ONCE} at once`, individual: `one-token batches, ${STREAMS} at once` },
    child,
    async send(shape, firstToken, count) {
      // Tokens are made before the run, as a parsed job holds them.
      await child.call('prepare', { firstToken, count }, 120_000);
      const params: ProviderRunParams = { shape, firstToken, count, batch: BATCH, atOnce: shape === 'broadcast' ? BATCHES_AT_ONCE : STREAMS };
      const result = await child.call<ProviderRunResult>('run', params, 600_000);
      return { delivered: result.delivered, ...(result.firstProblem === undefined ? {} : { problem: result.firstProblem }) };
    },
  };
}

async function measure(sender: Sender, shape: ProviderShape, fixture: IpcChild): Promise<MeasuredRow> {
  const warm = Math.min(WARM_UP, counts[shape]);
  await sender.send(shape, nextToken, warm);
  nextToken += warm;
  await fixture.call('sample');
  const count = counts[shape];
  const firstToken = nextToken;
  nextToken += count;
  const before = { sender: cpuSeconds(sender.child.pid), fixture: cpuSeconds(fixture.pid) };
  const started = performance.now();
  const { delivered, problem } = await sender.send(shape, firstToken, count);
  const seconds = (performance.now() - started) / 1000;
  const used = { sender: cpuSeconds(sender.child.pid) - before.sender, fixture: cpuSeconds(fixture.pid) - before.fixture };
  await fixture.call('sample');
  if (delivered !== count) throw new Error(`${sender.name} delivered ${delivered} of ${count} (${shape}): ${problem ?? 'no problem reported'}`);
  const perToken = (value: number): number => (value * 1e6) / count;
  return {
    units: count,
    seconds,
    cpuSeconds: used.sender,
    row: {
      sender: sender.name,
      shape: shape === 'broadcast' ? `1 × ${count} tokens` : `${count} × 1 token`,
      via: sender.via[shape],
      tokens: count,
      'tokens/s': Math.round(count / seconds),
      'sender cpu µs/token': perToken(used.sender),
      'fixture cpu µs/token': perToken(used.fixture),
    },
  };
}

async function main(): Promise<void> {
  const fixture = await IpcChild.start(new URL('./lib/apns-fixture-worker.ts', import.meta.url));
  const children: IpcChild[] = [];
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  try {
    const info = await fixture.call<FixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: STREAMS });
    const raw = await IpcChild.start(new URL('./lib/apns-raw-sender-worker.ts', import.meta.url));
    children.push(raw);
    const senders: Sender[] = [rawSender(raw, info)];
    for (const build of heraldBuilds()) {
      // The provider runs with the node flags the daemon is deployed with.
      const child = await IpcChild.start(new URL('./lib/apns-provider-worker.ts', import.meta.url), { execArgv: nodeFlags(build) });
      children.push(child);
      await child.call('start', { cli: build.cli, fixture: info, streams: STREAMS }, 60_000);
      senders.push(providerSender(`${build.name} provider`, child));
    }
    for (const shape of shapes) {
      const { runs, rows: shapeRows } = await alternatingRounds(senders, ROUNDS, (sender) => measure(sender, shape, fixture));
      rows.push(...shapeRows);
      const [baseline, ...providers] = senders;
      const rawRuns = runs.get(baseline as Sender) ?? [];
      const rawTotals = runTotals(rawRuns);
      for (const sender of providers) {
        const own = runs.get(sender) ?? [];
        const totals = runTotals(own);
        ratios[`${sender.name} cpu ÷ raw http2, ${shape}`] = ratio(totals.cpuMicrosPerUnit, rawTotals.cpuMicrosPerUnit);
        // Round by round: each run against the raw client's of the same round (NaN where it has none).
        ratios[`${sender.name} cpu ÷ raw http2, ${shape}, median of ${ROUNDS} rounds`] = median(own.map((run, index) => ratio(runTotals([run]).cpuMicrosPerUnit, runTotals(rawRuns.slice(index, index + 1)).cpuMicrosPerUnit)));
        ratios[`${sender.name} throughput ÷ raw http2, ${shape}`] = ratio(totals.perSecond, rawTotals.perSecond);
      }
    }
  } finally {
    for (const child of children.reverse()) {
      await child.call('stop').catch(() => {});
      await child.stop();
    }
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
  }
  report('apns-provider', rows, { ...ratios, rounds: ROUNDS, warmUp: WARM_UP, streams: STREAMS, batch: BATCH, batchesAtOnce: BATCHES_AT_ONCE });
}

await main();
