import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { FanoutMessage } from '../../src/gateway/adapter/adapter.js';
import { RedisAdapter } from '../../src/gateway/adapter/redis-adapter.js';
import type { RedisAdapterOptions } from '../../src/gateway/adapter/redis-adapter.js';
import { decodeBatch, encodeBatch } from '../../src/gateway/adapter/redis-adapter-codec.js';
import { isHeraldError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

interface Node {
  readonly adapter: RedisAdapter;
  readonly connections: RedisConnections;
  readonly metrics: Metrics;
  readonly seen: FanoutMessage[];
}

const event = (app: string, data: string): FanoutMessage => ({ v: 1, type: 'event', app, channel: 'c', frame: `{"event":"e","channel":"c","data":"${data}"}` });
const frames = (node: Node, app: string): string[] => node.seen.filter((m) => m.app === app && m.type === 'event').map((m) => (m as { frame: string }).frame);

describe('RedisAdapter when Redis misbehaves', () => {
  let redis: TestRedis;
  let keyPrefix: string;
  let nodes: Node[] = [];

  before(async () => {
    redis = await startRedis();
  });

  after(async () => {
    await redis?.stop();
  });

  afterEach(async () => {
    for (const node of nodes) {
      await node.adapter.stop();
      await node.connections.stop(AbortSignal.timeout(2_000));
    }
    nodes = [];
  });

  async function startNode(options: Partial<RedisAdapterOptions> = {}): Promise<Node> {
    const log = silentLogger();
    const metrics = createMetrics({ defaults: false });
    const connections = new RedisConnections({ config: { url: redis.url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix }, log, metrics });
    const adapter = new RedisAdapter({
      publisher: connections.create('pub'),
      subscriber: connections.create('sub', 'subscriber'),
      keyPrefix,
      nodeId: `node-${randomUUID()}`,
      log,
      metrics,
      ...options,
    });
    const node = { adapter, connections, metrics, seen: [] as FanoutMessage[] };
    adapter.onMessage((message) => node.seen.push(message));
    await connections.start();
    await adapter.start();
    nodes.push(node);
    return node;
  }

  const dropped = async (node: Node): Promise<number> => (await node.metrics.adapterMessages.get()).values.find((v) => v.labels.direction === 'dropped')?.value ?? 0;

  it('delivers locally and rejects at once while Redis is down, buffers nothing, and carries messages again after a restart', async () => {
    keyPrefix = `ad-${randomUUID()}`;
    const [a, b] = [await startNode(), await startNode()];
    const app = randomUUID();
    await redis.kill();
    await waitFor(() => !a!.connections.health().ok, { what: 'the connections to notice' });
    const failure = await a!.adapter.publish(event(app, 'during')).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(isHeraldError(failure, 'HERALD_REDIS_UNAVAILABLE'), `rejected with ${String(failure)}`);
    assert.equal(frames(a!, app).length, 1, 'the publishing node still delivers to its own sockets');
    assert.equal(await dropped(a!), 1);

    await redis.restart();
    await waitFor(() => a!.connections.health().ok && b!.connections.health().ok, { what: 'reconnected', timeoutMs: 10_000 });
    // The subscriber renews its subscription on reconnect; publish until the first message crosses.
    await waitFor(async () => {
      await a!.adapter.publish(event(app, 'after'));
      return frames(b!, app).length > 0;
    }, { what: 'messages crossing again', intervalMs: 100 });
    assert.equal(frames(b!, app).some((frame) => frame.includes('during')), false, 'what was published during the outage is not replayed');
  });

  it('refuses publishes beyond its backlog bound instead of growing', async () => {
    keyPrefix = `ad-${randomUUID()}`;
    const [a, b] = [await startNode({ maxPendingBytes: 5_000 }), await startNode()];
    const app = randomUUID();
    const big = (i: number): FanoutMessage => event(app, `${i}-${'x'.repeat(1_800)}`);
    // Same tick: all three wait in one batch, and the third exceeds the bound.
    const results = await Promise.allSettled([0, 1, 2].map((i) => a!.adapter.publish(big(i))));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected']);
    assert.equal(await dropped(a!), 1);
    assert.equal(frames(a!, app).length, 3, 'local delivery is never refused');
    await waitFor(() => frames(b!, app).length === 2, { what: 'the two accepted messages on the other node' });
    await a!.adapter.publish(big(3));
    await waitFor(() => frames(b!, app).length === 3, { what: 'room again once the batch went out' });
  });

  it('drops payloads it does not understand and keeps going', async () => {
    keyPrefix = `ad-${randomUUID()}`;
    const [a] = [await startNode()];
    const app = randomUUID();
    const intruder = new Redis(redis.url);
    try {
      for (const payload of ['', 'no newline', '{"v":2,"node":"x","m":[]}\n', '{"v":1,"node":"x","m":[["e","a","c",null,999]]}\nshort', '{"v":1,"node":"x","m":[["z","a","c",null,0]]}\n', '\u0000\uffff']) {
        await intruder.publish(`${keyPrefix}:fanout`, payload);
      }
      await intruder.publish(`${keyPrefix}:fanout`, `{"v":1,"node":"other","m":[["e","${app}","c",null,2]]}\n{}`);
      await waitFor(() => frames(a!, app).length === 1, { what: 'the well-formed message after the garbage' });
      assert.deepEqual(frames(a!, app), ['{}']);
      assert.equal(a!.seen.filter((m) => m.app !== app).length, 0, 'nothing from the malformed payloads was delivered');
    } finally {
      intruder.disconnect();
    }
  });

  it('encodes any batch so that it decodes to the same messages, and refuses any truncation of it', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_\-=@,.;]{1,20}$/);
    const message: fc.Arbitrary<FanoutMessage> = fc.oneof(
      fc.record({ v: fc.constant(1 as const), type: fc.constant('event' as const), app: name, channel: name, frame: fc.string({ unit: 'grapheme', maxLength: 200 }) }),
      fc.record({ v: fc.constant(1 as const), type: fc.constant('event' as const), app: name, channel: name, frame: fc.string({ unit: 'binary', maxLength: 200 }), exceptSocketId: fc.constant('123.456') }),
      fc.record({ v: fc.constant(1 as const), type: fc.constant('terminate-user' as const), app: name, userId: name }),
    );
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 20 }), (messages) => {
        const payload = encodeBatch('node-1', messages);
        // Through UTF-8 and back, as Redis carries it.
        const carried = Buffer.from(payload, 'utf8').toString('utf8');
        // fast-check's records have no prototype; compare with plain objects.
        assert.deepEqual(decodeBatch(carried), { node: 'node-1', messages: messages.map((m) => ({ ...m })) });
        const framed = messages.some((m) => m.type === 'event' && m.frame.length > 0);
        if (framed) assert.equal(decodeBatch(carried.slice(0, -1)), undefined);
      }),
    );
  });
});
