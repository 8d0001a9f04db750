/**
 * Herald's APNs provider in a process of its own, loaded from a build's dist/ (the one
 * BENCH_BEFORE_CLI names, or this tree's) and driven over IPC with batches shaped as the
 * notification pipeline hands them over: no queue, no Redis, no HTTP API. Its CPU per
 * token is the provider's alone (batch loop, APNs sender, HTTP/2 session), to set beside
 * the raw node:http2 client's against the same fixture.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ConfigExports from '../../src/config/load.js';
import type * as EventsExports from '../../src/events.js';
import type * as LoggerExports from '../../src/log/logger.js';
import type * as MetricsExports from '../../src/metrics/metrics.js';
import type * as ProviderExports from '../../src/providers/apns/apns-provider.js';
import type { ApnsProvider } from '../../src/providers/apns/apns-provider.js';
import type { PushBatch } from '../../src/providers/provider.js';
import { benchApnsApp } from './apns-fixture.js';
import type { FixtureInfo } from './apns-fixture-worker.js';
import { benchToken } from './apns-tokens.js';
import { epochMs } from './clock.js';
import { serveIpc } from './ipc.js';

/** broadcast: one notification's tokens in batches of `batch`; individual: every token a notification (a batch) of its own. */
export type ProviderShape = 'broadcast' | 'individual';

export interface ProviderRunParams {
  readonly shape: ProviderShape;
  readonly firstToken: number;
  readonly count: number;
  /** Tokens per batch (broadcast). */
  readonly batch: number;
  /** Batches handed to the provider at once. */
  readonly atOnce: number;
}

export interface ProviderRunResult {
  readonly delivered: number;
  readonly other: number;
  readonly firstProblem: string | undefined;
}

const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };
let provider: ApnsProvider | undefined;
/** The run's tokens, made before it is measured, as flat strings the way a parsed job holds them. */
let prepared: string[] = [];

/** A module of the build whose CLI is `cli` (dist/src/cli/main.js), by its path under dist/src. */
function fromBuild<T>(cli: string, path: string): Promise<T> {
  return import(new URL(`../${path}`, pathToFileURL(cli)).href) as Promise<T>;
}

async function start(params: { cli: string; fixture: FixtureInfo; streams: number }): Promise<void> {
  const [{ ApnsProvider: Provider }, { loadConfig }, { createMetrics }, { EventBus }, { silentLogger }] = await Promise.all([
    fromBuild<typeof ProviderExports>(params.cli, 'providers/apns/apns-provider.js'),
    fromBuild<typeof ConfigExports>(params.cli, 'config/load.js'),
    fromBuild<typeof MetricsExports>(params.cli, 'metrics/metrics.js'),
    fromBuild<typeof EventsExports>(params.cli, 'events.js'),
    fromBuild<typeof LoggerExports>(params.cli, 'log/logger.js'),
  ]);
  // The app as the daemon would load it: through the build's own config loader.
  const file = join(mkdtempSync(join(tmpdir(), 'herald-provider-bench-')), 'herald.yaml');
  writeFileSync(file, JSON.stringify({ apps: [benchApnsApp(params.fixture, params.streams)] }));
  const { apps } = loadConfig({ file, env: {} });
  provider = new Provider({ apps, log: silentLogger(), metrics: createMetrics({ defaults: false }), events: new EventBus() });
  await provider.start();
}

function prepare(params: { firstToken: number; count: number }): void {
  const tokens = Array.from({ length: params.count }, (_, i) => benchToken(params.firstToken + i));
  prepared = JSON.parse(JSON.stringify(tokens)) as string[];
}

async function run(params: ProviderRunParams): Promise<ProviderRunResult> {
  const sender = provider;
  if (!sender) throw new Error('provider not started');
  const tokens = prepared;
  if (tokens.length !== params.count) throw new Error(`prepared ${tokens.length} tokens, asked to send ${params.count}`);
  const size = params.shape === 'broadcast' ? params.batch : 1;
  const broadcastPayload = { aps: { alert }, t: epochMs() };
  // One signal for the run, as an envelope's notifications share their job's.
  const signal = new AbortController().signal;
  let next = 0;
  let delivered = 0;
  let other = 0;
  let firstProblem: string | undefined;
  const lane = async (): Promise<void> => {
    while (next < tokens.length) {
      const from = next;
      next = Math.min(tokens.length, next + size);
      const batch: PushBatch = {
        app: 'bench',
        notificationId: `n${params.firstToken + from}`,
        tokens: tokens.slice(from, next),
        payload: params.shape === 'broadcast' ? broadcastPayload : { aps: { alert }, t: epochMs() },
      };
      for await (const result of sender.send(batch, signal)) {
        if (result.outcome.type === 'delivered') delivered += 1;
        else {
          other += 1;
          firstProblem ??= JSON.stringify(result.outcome);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, params.atOnce) }, lane));
  prepared = [];
  return { delivered, other, firstProblem };
}

serveIpc({
  start,
  prepare,
  run,
  stop: async (): Promise<void> => {
    await provider?.close(AbortSignal.timeout(5_000));
  },
});
