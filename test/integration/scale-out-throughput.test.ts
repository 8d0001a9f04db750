import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, serverSdk } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

const app = { id: 'load-app', key: 'load-key', secret: 'load-secret-0001' };
const NODES = 3;
const SUBSCRIBERS_PER_NODE = 4;
/** Events per node; each node publishes its share through its own HTTP API. */
const EVENTS_PER_NODE = 3_000;
const BATCH = 10;
const IN_FLIGHT_PER_NODE = 16;

/**
 * A short, bounded load run across three processes on loopback: every node
 * publishes through batch_events while raw WebSocket subscribers on every node
 * count what arrives. It asserts completeness and order; the rate it prints is the
 * figure quoted in docs/scaling.md (it depends on the machine, so it is reported,
 * never asserted).
 */
describe('scale-out throughput: events/s across three nodes', () => {
  let redis: TestRedis;
  const nodes: HeraldProcess[] = [];
  const subscribers: Array<{ client: RawClient; node: number }> = [];

  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < NODES; i += 1) {
      nodes.push(await startHeraldProcess({ config: { redis: { url: redis.url }, apps: [app] } }));
    }
    for (const [node, herald] of nodes.entries()) {
      for (let s = 0; s < SUBSCRIBERS_PER_NODE; s += 1) {
        const { client } = await RawClient.connect(herald.httpPort, app.key);
        client.send({ event: 'pusher:subscribe', data: { channel: 'load' } });
        await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
        subscribers.push({ client, node });
      }
    }
  });

  after(async () => {
    for (const { client } of subscribers) await client.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it('delivers every event published on every node to every subscriber, in each publisher’s order', async (t) => {
    const total = NODES * EVENTS_PER_NODE;
    const started = process.hrtime.bigint();
    await Promise.all(
      nodes.map(async (herald, node) => {
        const sdk = serverSdk(herald.httpPort, app);
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < EVENTS_PER_NODE) {
            const from = next;
            next += BATCH;
            const batch = Array.from({ length: BATCH }, (_, i) => ({ channel: 'load', name: 'tick', data: `${node}:${from + i}` }));
            const response = await sdk.triggerBatch(batch);
            assert.equal(response.status, 200);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT_PER_NODE }, worker));
      }),
    );
    const published = process.hrtime.bigint();
    for (const { client } of subscribers) {
      await waitFor(() => client.frames.filter((f) => f.event === 'tick').length >= total, { what: 'every event at every subscriber', timeoutMs: 60_000, intervalMs: 50 });
    }
    const delivered = process.hrtime.bigint();

    for (const { client, node } of subscribers) {
      const ticks = client.frames.filter((f) => f.event === 'tick').map((f) => String(f.data));
      assert.equal(ticks.length, total, `subscriber on node ${node}: exactly once`);
      for (let origin = 0; origin < NODES; origin += 1) {
        const fromOrigin = ticks.filter((d) => d.startsWith(`${origin}:`)).map((d) => Number(d.split(':')[1]));
        assert.equal(fromOrigin.length, EVENTS_PER_NODE);
        // Batches from one node go out in parallel HTTP requests, so only each batch's own order is promised.
        const batches = new Map<number, number[]>();
        for (const n of fromOrigin) batches.set(Math.floor(n / BATCH), [...(batches.get(Math.floor(n / BATCH)) ?? []), n]);
        for (const batch of batches.values()) assert.deepEqual(batch, [...batch].sort((x, y) => x - y), `a batch from node ${origin} stays in order`);
      }
    }
    const seconds = Number(delivered - started) / 1e9;
    const eventsPerSecond = Math.round(total / seconds);
    const deliveriesPerSecond = Math.round((total * subscribers.length) / seconds);
    t.diagnostic(
      `${NODES} nodes, ${subscribers.length} subscribers: ${total} events in ${seconds.toFixed(2)} s ` +
        `(publishing took ${(Number(published - started) / 1e9).toFixed(2)} s) = ${eventsPerSecond} events/s, ${deliveriesPerSecond} deliveries/s`,
    );
  });
});
