import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, gatewayTestConfig, metricValue, serverSdk, signedPost, testApps } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;

describe('gateway fanout', () => {
  let herald: HeraldProcess;
  let sdk: Pusher;

  before(async () => {
    herald = await startHeraldProcess({ config: gatewayTestConfig({ activityTimeoutSeconds: 60, maxBufferedBytes: 256 * 1024 }) });
    sdk = serverSdk(herald.httpPort, main);
  });
  after(async () => herald.stop());

  async function subscribers(count: number, channel: string): Promise<RawClient[]> {
    const clients = await Promise.all(Array.from({ length: count }, () => RawClient.connect(herald.httpPort, main.key)));
    await Promise.all(
      clients.map(async ({ client }) => {
        client.send({ event: 'pusher:subscribe', data: { channel } });
        await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
      }),
    );
    return clients.map((c) => c.client);
  }

  it('delivers 100 events to each of 500 subscribers of one channel, none lost, in order', async () => {
    const clients = await subscribers(500, 'fanout');
    try {
      const started = Date.now();
      for (let i = 0; i < 100; i += 1) await sdk.trigger('fanout', 'tick', JSON.stringify({ i }));
      const expected = Array.from({ length: 100 }, (_, i) => JSON.stringify({ i }));
      const ticks = (client: RawClient) => client.frames.filter((f) => f.event === 'tick').map((f) => f.data);
      await waitFor(() => clients.every((client) => ticks(client).length >= 100), { timeoutMs: 30_000, what: '50,000 deliveries' });
      const elapsed = Date.now() - started;
      for (const client of clients) assert.deepEqual(ticks(client), expected);
      console.log(`fanout: 500 subscribers x 100 events = 50,000 deliveries in ${elapsed} ms`);
      assert.ok((await metricValue(herald.metricsPort, 'herald_ws_messages_sent_total', { app: main.id })) >= 50_000);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('disconnects a consumer that stops reading with 4100 once its backlog passes maxBufferedBytes, while others keep up', async () => {
    const [slow, healthy] = await subscribers(2, 'firehose');
    assert.ok(slow && healthy);
    // Stop reading: the kernel buffers fill, then the server's backlog for this socket grows.
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const payload = JSON.stringify({ blob: 'x'.repeat(9_000) });
    let published = 0;
    await waitFor(
      async () => {
        const batch = Array.from({ length: 10 }, () => ({ name: 'chunk', channel: 'firehose', data: payload }));
        await signedPost(sdk, '/batch_events', { batch });
        published += 10;
        return (await metricValue(herald.metricsPort, 'herald_ws_protocol_errors_total', { reason: 'slow_consumer' })) >= 1;
      },
      { timeoutMs: 60_000, intervalMs: 1, what: 'the slow consumer to be shed' },
    );
    await waitFor(() => healthy.frames.filter((f) => f.event === 'chunk').length === published, { what: 'the healthy subscriber to get every chunk' });
    socket.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 4100);
    const healthyFrom = healthy.mark();
    await sdk.trigger('firehose', 'after', '{}');
    await healthy.next((f) => f.event === 'after', { from: healthyFrom });
    console.log(`slow consumer shed after ${published} events of ${payload.length} bytes`);
    await healthy.close();
  });
});
