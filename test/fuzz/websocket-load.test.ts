import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PINNED_YOUNG_GENERATION, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { waitFor } from '../helpers/wait.js';
import { rssBytes, send, signedPath } from './fuzz-http.js';
import { openPusherSocket } from './fuzz-ws.js';
import type { Frame } from './fuzz-ws.js';

// Abusive but well-formed WebSocket clients: one socket that asks for 10,000
// subscriptions, one that never reads what it is sent, one that goes silent.
// Each is contained — answered, shed or closed — and everyone else keeps being served.

const app = { id: 'load', key: 'load-key', secret: 'sEcReT-load-1f2e3d4c5b6a7988' };
const MAX_CHANNELS = 1_000;
const SUBSCRIBES = 10_000;

const config = (liveness: { activityTimeoutSeconds: number; pongTimeoutSeconds: number }) => ({
  env: { NODE_OPTIONS: `--max-old-space-size=96 ${PINNED_YOUNG_GENERATION}` },
  config: { gateway: { maxChannelsPerConnection: MAX_CHANNELS, maxBufferedBytes: 256 * 1024, ...liveness }, apps: [app] },
});

// Liveness timeouts far above any pause of a busy machine: a flooding or paused test
// client must be shed for what it does, not closed because the test process stalled.
let herald: HeraldProcess;
before(async () => {
  herald = await startHeraldProcess(config({ activityTimeoutSeconds: 60, pongTimeoutSeconds: 60 }));
});
after(async () => {
  assert.equal(await herald.stop(), 0);
});

const open = () => openPusherSocket(herald.httpPort, app.key);

async function metric(name: string, labels: Record<string, string>, of: HeraldProcess = herald): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${of.metricsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function publish(channel: string, data: string): Promise<void> {
  const body = JSON.stringify({ name: 'load-event', channel, data });
  const answer = await send(herald.httpPort, { method: 'POST', path: signedPath(app, 'POST', `/apps/${app.id}/events`, body, {}), body, headers: { 'content-type': 'application/json' } });
  assert.equal(answer.status, 200, answer.text);
}

describe('WebSocket clients that abuse the protocol', () => {
  it(`${SUBSCRIBES} subscribe requests from one socket: each answered once, at most ${MAX_CHANNELS} joined, the server keeps serving`, async () => {
    const rssBefore = rssBytes(herald.child.pid ?? 0);
    const flood = await open();
    for (let i = 0; i < SUBSCRIBES; i++) flood.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: `flood-${i}` } }));
    const isAnswer = (frame: Frame) =>
      frame.channel?.startsWith('flood-') === true && (frame.event === 'pusher_internal:subscription_succeeded' || frame.event === 'pusher:subscription_error');
    // Pings are answered at once while subscriptions run in order behind each other, so wait for the answers themselves.
    await waitFor(() => flood.frames.filter(isAnswer).length >= SUBSCRIBES, { timeoutMs: 60_000, what: `${SUBSCRIBES} subscription answers` });
    await flood.roundTrip();
    const answered = new Map<string, string>();
    for (const frame of flood.frames.filter(isAnswer)) {
      const name = frame.channel ?? '';
      assert.ok(!answered.has(name), `${name} answered twice`);
      answered.set(name, frame.event === 'pusher:subscription_error' ? `refused ${String((frame.data as { status?: number }).status)}` : 'joined');
    }
    const tally = [...answered.values()].reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
    console.log(`subscribe flood: ${SUBSCRIBES} sent, ${answered.size} answered ${JSON.stringify(tally)}`);
    assert.equal(answered.size, SUBSCRIBES, 'every request answered');
    assert.ok((tally.joined ?? 0) > 0 && (tally.joined ?? 0) <= MAX_CHANNELS);
    assert.equal((tally.joined ?? 0) + (tally['refused 429'] ?? 0), SUBSCRIBES, 'refusals are 429 LimitReached');
    assert.ok((await metric('herald_channels', { app: app.id })) <= MAX_CHANNELS);

    const joined = [...answered].find(([, v]) => v === 'joined')?.[0] ?? '';
    const from = flood.frames.length;
    await publish(joined, 'to-the-flooder');
    await flood.next((f) => f.event === 'load-event' && f.channel === joined, 10_000, from);
    const bystander = await open();
    bystander.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'bystander' } }));
    await bystander.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    flood.ws.close();
    await flood.closed;
    await waitFor(async () => (await metric('herald_channels', { app: app.id })) <= 1, { timeoutMs: 20_000, what: 'the flood socket’s channels to be vacated' });
    bystander.ws.close();
    await bystander.closed;
    const rssAfter = rssBytes(herald.child.pid ?? 0);
    console.log(`RSS ${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssAfter / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(rssAfter - rssBefore < 48 * 2 ** 20, 'memory bounded (heap capped at 96 MiB, so a leak crashes instead)');
  });

  it('a subscriber that never reads is shed with 4100 once its buffer passes maxBufferedBytes; a reading subscriber gets every event', async () => {
    const slow = await open();
    const reader = await open();
    for (const s of [slow, reader]) {
      s.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'firehose' } }));
      await s.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'firehose');
    }
    const tcp = (slow.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const shedBefore = await metric('herald_ws_protocol_errors_total', { app: app.id, reason: 'slow_consumer' });
    const payload = 'x'.repeat(9_000);
    let sent = 0;
    // Bounded: kernel buffers on loopback hold a few MiB before the server's own buffer grows.
    while (sent < 3_000 && (await metric('herald_ws_protocol_errors_total', { app: app.id, reason: 'slow_consumer' })) === shedBefore) {
      await Promise.all(Array.from({ length: 20 }, () => publish('firehose', payload)));
      sent += 20;
    }
    assert.ok(sent < 3_000, `the slow consumer was not shed after ${sent} events`);
    tcp.resume();
    const { code } = await slow.closed;
    assert.equal(code, 4100);
    await waitFor(() => reader.frames.filter((f) => f.event === 'load-event' && f.channel === 'firehose').length === sent, { timeoutMs: 30_000, what: `the reader to get all ${sent} events` });
    await reader.roundTrip();
    console.log(`slow consumer: shed after ${sent} events of 9 KB; the reading subscriber got all ${sent}`);
    reader.ws.close();
    await reader.closed;
  });

  it('a client that stops answering pings is closed with 4201 after activity + pong timeouts', async (t) => {
    // Short timeouts on a daemon of its own; the test waits for the close, with a bound far above them.
    const short = await startHeraldProcess(config({ activityTimeoutSeconds: 1, pongTimeoutSeconds: 1 }));
    t.after(() => short.stop());
    const silent = await openPusherSocket(short.httpPort, app.key);
    const tcp = (silent.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    await waitFor(async () => (await metric('herald_ws_connections', { app: app.id }, short)) === 0, { timeoutMs: 60_000, what: 'the silent socket to be closed' });
    tcp.resume();
    assert.equal((await silent.closed).code, 4201);
    const fresh = await openPusherSocket(short.httpPort, app.key);
    await fresh.roundTrip();
    fresh.ws.close();
  });
});
