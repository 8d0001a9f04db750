/**
 * What anonymous clients can make the daemon hold: 100 unauthenticated sockets, each
 * subscribing to as many distinct public channels as the server allows. Server RSS
 * and V8 heap before and after, and bytes per subscription.
 *
 *   npm run bench -- anonymous-subscriptions [--quick]
 *   BENCH_BEFORE_CLI=/path/to/old/dist/src/cli/main.js adds the old build.
 *
 * Two runs per build: at its default channel cap (what an attacker gets out of the
 * box), and at a fixed 1,000 channels per socket (bytes per subscription compared
 * like for like).
 */
import WebSocket from 'ws';
import { rssBytes } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { heraldBuilds, startHerald } from './lib/targets.js';
import type { HeraldBuild, HeraldTarget } from './lib/targets.js';

const SOCKETS = quick ? 20 : 100;
const ASKED = 1_000;
/** Subscribe requests one socket keeps in flight: below the server's per-socket queue bound (100). */
const IN_FLIGHT = 50;

async function heapUsed(target: HeraldTarget): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${target.process.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

async function settled(target: HeraldTarget): Promise<{ rss: number; heap: number }> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return { rss: rssBytes(target.pid), heap: await heapUsed(target) };
}

/** Opens one socket and subscribes it to `count` channels; resolves with how many joined. */
async function subscriber(url: string, index: number, count: number): Promise<{ ws: WebSocket; joined: number }> {
  const ws = new WebSocket(url);
  let joined = 0;
  let answered = 0;
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const next = (): void => {
      if (sent < count) ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: `anon-${index}-${sent++}` } }));
    };
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { event?: string };
      if (frame.event === 'pusher:connection_established') {
        for (let i = 0; i < IN_FLIGHT; i++) next();
      } else if (frame.event === 'pusher_internal:subscription_succeeded' || frame.event === 'pusher:subscription_error') {
        if (frame.event === 'pusher_internal:subscription_succeeded') joined += 1;
        answered += 1;
        if (answered === count) resolve();
        else next();
      }
    });
  });
  return { ws, joined };
}

async function run(build: HeraldBuild, cap: number | undefined): Promise<Row> {
  const target = await startHerald({ build, config: cap === undefined ? {} : { gateway: { maxChannelsPerConnection: cap } } });
  try {
    const before = await settled(target);
    const sockets = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => subscriber(target.wsUrl, i, ASKED)));
    const after = await settled(target);
    const joined = sockets.reduce((sum, s) => sum + s.joined, 0);
    for (const s of sockets) s.ws.terminate();
    return {
      server: build.name,
      cap: cap === undefined ? 'default' : cap,
      sockets: SOCKETS,
      subscriptions: joined,
      'rss before MB': before.rss / 2 ** 20,
      'rss after MB': after.rss / 2 ** 20,
      'rss +MB': (after.rss - before.rss) / 2 ** 20,
      'heap +MB': (after.heap - before.heap) / 2 ** 20,
      'heap B/sub': joined > 0 ? (after.heap - before.heap) / joined : 0,
      'rss B/sub': joined > 0 ? (after.rss - before.rss) / joined : 0,
    };
  } finally {
    await target.stop();
  }
}

const rows: Row[] = [];
for (const build of heraldBuilds()) {
  rows.push(await run(build, undefined));
  rows.push(await run(build, ASKED));
}
report('anonymous-subscriptions', rows, { socketsPerRun: SOCKETS, channelsAskedPerSocket: ASKED });
