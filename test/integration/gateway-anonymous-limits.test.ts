import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { rssBytes } from '../fuzz/fuzz-http.js';
import { PINNED_YOUNG_GENERATION, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, metricValue, testApps } from '../helpers/pusher-clients.js';
import type { RawFrame } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

// What unauthenticated clients can make one daemon hold. Measured before these
// bounds: 100 sockets × 1,000 public channels grew the daemon by ~110 MB (about
// 1.1 KB per subscription, at the default cap of 1,000 channels per socket).

const { main } = testApps;
const SOCKETS = 100;
const ASKED = 1_000;
/** Requests one socket keeps in flight, below the server's per-socket queue bound (100). */
const IN_FLIGHT = 50;
const MiB = 2 ** 20;

const daemons: HeraldProcess[] = [];
const clients: RawClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const d of daemons) await d.stop();
});

async function daemon(gateway: Record<string, unknown> = {}): Promise<HeraldProcess> {
  const herald = await startHeraldProcess({ config: { gateway, apps: [main] }, env: { NODE_OPTIONS: PINNED_YOUNG_GENERATION } });
  daemons.push(herald);
  return herald;
}

async function settledRss(herald: HeraldProcess): Promise<number> {
  // Memory is read once the daemon has answered everything: wait for its heap to stop moving, not a fixed time.
  let last = -1;
  await waitFor(
    async () => {
      const heap = await metricValue(herald.metricsPort, 'nodejs_heap_size_used_bytes');
      const still = last >= 0 && Math.abs(heap - last) < MiB;
      last = heap;
      return still;
    },
    { timeoutMs: 30_000, intervalMs: 300, what: 'the heap to settle' },
  );
  return rssBytes(herald.child.pid ?? 0);
}

/** Subscribes one socket to ASKED distinct public channels, IN_FLIGHT at a time; returns the answers. */
async function subscribeMany(herald: HeraldProcess, index: number): Promise<RawFrame[]> {
  const { client } = await RawClient.connect(herald.httpPort, main.key);
  clients.push(client);
  const isAnswer = (f: RawFrame): boolean => f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error';
  let sent = 0;
  let answered = 0;
  const send = (): void => {
    if (sent < ASKED) client.send({ event: 'pusher:subscribe', data: { channel: `anon-${index}-${sent++}` } });
  };
  client.ws.on('message', (data: Buffer) => {
    if (!isAnswer(JSON.parse(data.toString()) as RawFrame)) return;
    answered += 1;
    send();
  });
  for (let i = 0; i < IN_FLIGHT; i++) send();
  await waitFor(() => answered === ASKED, { timeoutMs: 120_000, intervalMs: 50, what: `socket ${index}: ${ASKED} answers` });
  return client.frames.filter(isAnswer);
}

async function fleet(herald: HeraldProcess): Promise<{ joined: number; refused: RawFrame[]; rssGrowth: number }> {
  const before = await settledRss(herald);
  const sockets = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => subscribeMany(herald, i)));
  const afterRss = await settledRss(herald);
  const answers = sockets.flat();
  return {
    joined: answers.filter((f) => f.event === 'pusher_internal:subscription_succeeded').length,
    refused: answers.filter((f) => f.event === 'pusher:subscription_error'),
    rssGrowth: afterRss - before,
  };
}

async function closeAll(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
}

describe('anonymous clients cannot grow the daemon without bound', () => {
  it('100 sockets asking for 1,000 public channels each get the default 200, the rest refused LimitReached 429 and counted, and the daemon grows by under 40 MiB (a few tens; it was 113)', async () => {
    const herald = await daemon();
    const { joined, refused, rssGrowth } = await fleet(herald);
    console.log(`default cap: ${joined} subscriptions, RSS +${(rssGrowth / MiB).toFixed(1)} MiB`);
    assert.equal(joined, SOCKETS * 200);
    assert.equal(refused.length, SOCKETS * (ASKED - 200));
    for (const frame of refused) {
      assert.deepEqual(
        { type: (frame.data as { type?: string }).type, status: (frame.data as { status?: number }).status },
        { type: 'LimitReached', status: 429 },
      );
    }
    assert.equal(await metricValue(herald.metricsPort, 'herald_ws_protocol_errors_total', { app: main.id, reason: 'too_many_channels' }), refused.length);
    assert.ok(rssGrowth < 40 * MiB, `RSS grew by ${(rssGrowth / MiB).toFixed(1)} MiB`);
    await closeAll();
  });

  it('a subscription costs a few hundred bytes: 100 sockets × 1,000 channels grow the daemon by under 64 MiB', async () => {
    const herald = await daemon({ maxChannelsPerConnection: ASKED });
    const { joined, rssGrowth } = await fleet(herald);
    console.log(`1,000 per socket: ${joined} subscriptions, RSS +${(rssGrowth / MiB).toFixed(1)} MiB, ${Math.round(rssGrowth / joined)} B each`);
    assert.equal(joined, SOCKETS * ASKED);
    assert.ok(rssGrowth < 64 * MiB, `RSS grew by ${(rssGrowth / MiB).toFixed(1)} MiB`);
    await closeAll();
  });

  it('caps connections per client address at the handshake with pusher:error and close 4100, believing X-Forwarded-For only from a trusted proxy', async () => {
    const herald = await daemon({ maxConnectionsPerIp: 3, trustedProxies: ['127.0.0.1'] });
    const viaProxy = (forwardedFor: string) => ({ headers: { 'x-forwarded-for': forwardedFor } });
    const url = `ws://127.0.0.1:${herald.httpPort}/app/${main.key}?protocol=7&client=js&version=8.4.0&flash=false`;
    const refusedWith = async (client: RawClient): Promise<{ error: unknown; close: number }> => {
      clients.push(client);
      const error = await client.next((f) => f.event === 'pusher:error');
      return { error: (error.data as { code?: number }).code, close: (await client.closed).code };
    };

    // Behind the trusted proxy (127.0.0.1): each forwarded client has its own allowance.
    const proxied = await Promise.all([1, 2, 3].map(() => RawClient.connect(herald.httpPort, main.key, viaProxy('198.51.100.9, 203.0.113.7'))));
    clients.push(...proxied.map((p) => p.client));
    assert.deepEqual(await refusedWith(RawClient.open(url, viaProxy('203.0.113.7'))), { error: 4100, close: 4100 });
    const other = await RawClient.connect(herald.httpPort, main.key, viaProxy('203.0.113.8'));
    clients.push(other.client);
    // A slot frees when a socket closes.
    await proxied[0]?.client.close();
    await waitFor(
      async () => {
        const attempt = RawClient.open(url, viaProxy('203.0.113.7'));
        clients.push(attempt);
        const first = await attempt.next((f) => f.event === 'pusher:connection_established' || f.event === 'pusher:error');
        return first.event === 'pusher:connection_established';
      },
      { what: 'the freed slot to be usable' },
    );

    // From 127.0.0.2, not a trusted proxy: its X-Forwarded-For is ignored, whatever it says.
    const direct = (n: number) => ({ localAddress: '127.0.0.2', headers: { 'x-forwarded-for': `192.0.2.${n}` } });
    for (const n of [1, 2, 3]) clients.push((await RawClient.connect(herald.httpPort, main.key, direct(n))).client);
    assert.deepEqual(await refusedWith(RawClient.open(url, direct(4))), { error: 4100, close: 4100 });
    assert.equal(await metricValue(herald.metricsPort, 'herald_ws_connections_refused_total', { reason: 'ip_limit' }), 2);
    await closeAll();
  });
});
