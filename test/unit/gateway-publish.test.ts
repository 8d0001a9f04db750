import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App } from '../../src/apps/app-store.js';
import { configSchema } from '../../src/config/schema.js';
import { LocalAdapter } from '../../src/gateway/adapter/local-adapter.js';
import type { FanoutMessage } from '../../src/gateway/adapter/adapter.js';
import { GatewayPublisher } from '../../src/gateway/publisher.js';
import { validateEvent } from '../../src/gateway/publish-validation.js';
import { MemoryChannelCache } from '../../src/gateway/state/memory-channel-cache.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';

const app = configSchema.parse({ apps: [{ id: 'a1', key: 'k1', secret: 'secret-secret' }] }).apps?.[0] as unknown as App;
const event = (over: Record<string, unknown> = {}) => ({ channels: ['orders'], name: 'placed', data: '{"id":1}', ...over });

describe('event validation', () => {
  it('accepts a valid event and de-duplicates channels', () => {
    const result = validateEvent(app, event({ channels: ['a', 'b', 'a'], socketId: '1.2' }));
    assert.equal(result.ok, true);
    assert.deepEqual(result.ok && result.channels.map((c) => c.name), ['a', 'b']);
  });

  it('measures data in bytes: 10 KB is allowed, one byte more is too large', () => {
    assert.equal(validateEvent(app, event({ data: 'x'.repeat(10_240) })).ok, true);
    assert.deepEqual(validateEvent(app, event({ data: 'x'.repeat(10_241) })), { ok: false, reason: 'too_large', message: 'data is larger than 10240 bytes' });
    assert.equal((validateEvent(app, event({ data: 'é'.repeat(5_121) })) as { reason: string }).reason, 'too_large');
  });

  it('refuses what Pusher refuses, as invalid', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: '' }, /name/],
      [{ name: undefined }, /name/],
      [{ name: 'x'.repeat(201) }, /longer than 200/],
      [{ name: 'pusher:internal' }, /may not start/],
      [{ name: 'pusher_internal:member_added' }, /may not start/],
      [{ data: { not: 'a string' } }, /data must be a string/],
      [{ channels: [] }, /non-empty/],
      [{ channels: 'orders' }, /non-empty list/],
      [{ channels: Array.from({ length: 101 }, (_, i) => `c${i}`) }, /at most 100/],
      [{ channels: ['bad name'] }, /may only contain/],
      [{ channels: ['x'.repeat(165)] }, /longer than 164/],
      [{ channels: ['private-encrypted-a', 'other'] }, /encrypted/],
      [{ socketId: 'abc' }, /socket_id/],
      [{ socketId: 12 }, /socket_id/],
    ];
    for (const [over, message] of cases) {
      const result = validateEvent(app, event(over));
      assert.equal(result.ok, false, JSON.stringify(over).slice(0, 80));
      assert.equal(!result.ok && result.reason, 'invalid');
      assert.match(!result.ok ? result.message : '', message);
    }
  });

  it('allows 100 channels, a lone encrypted channel and #server-to-user channels', () => {
    assert.equal(validateEvent(app, event({ channels: Array.from({ length: 100 }, (_, i) => `c${i}`) })).ok, true);
    assert.equal(validateEvent(app, event({ channels: ['private-encrypted-a'] })).ok, true);
    assert.equal(validateEvent(app, event({ channels: ['#server-to-user-42'] })).ok, true);
  });
});

describe('GatewayPublisher', () => {
  async function setup() {
    const adapter = new LocalAdapter();
    await adapter.start();
    const seen: FanoutMessage[] = [];
    adapter.onMessage((m) => seen.push(m));
    const cache = new MemoryChannelCache();
    const metrics = createMetrics({ defaults: false });
    const publisher = new GatewayPublisher({ adapter, cache, metrics, log: silentLogger(), cacheTtlSeconds: 60 });
    return { publisher, seen, cache, metrics };
  }

  it('serializes one frame per channel with data relayed as the same string, and honours socket_id', async () => {
    const { publisher, seen } = await setup();
    const data = '{"a":"é \\" x"}';
    const result = await publisher.publish(app, { channels: ['c1', 'c2'], name: 'e', data, socketId: '9.9' });
    assert.deepEqual(result, { ok: true, channels: 2 });
    assert.deepEqual(seen, [
      { v: 1, type: 'event', app: 'a1', channel: 'c1', frame: JSON.stringify({ event: 'e', channel: 'c1', data }), exceptSocketId: '9.9' },
      { v: 1, type: 'event', app: 'a1', channel: 'c2', frame: JSON.stringify({ event: 'e', channel: 'c2', data }), exceptSocketId: '9.9' },
    ]);
    assert.equal((JSON.parse((seen[0] as { frame: string }).frame) as { data: string }).data, data);
  });

  it('stores the last event of cache channels only', async () => {
    const { publisher, cache } = await setup();
    await publisher.publish(app, event({ channels: ['cache-a', 'plain'], name: 'first' }));
    await publisher.publish(app, event({ channels: ['cache-a'], name: 'second', data: 'two' }));
    assert.deepEqual((await cache.get({ app: 'a1', channel: 'cache-a' }))?.event, { event: 'second', data: 'two' });
    assert.equal(await cache.get({ app: 'a1', channel: 'plain' }), undefined);
  });

  it('sends nothing from a batch with one invalid event, and names its index', async () => {
    const { publisher, seen } = await setup();
    const result = await publisher.publishBatch(app, [event(), event({ data: 'x'.repeat(20_000) })]);
    assert.deepEqual(result, { ok: false, reason: 'too_large', message: 'batch[1]: data is larger than 10240 bytes' });
    assert.equal(seen.length, 0);
  });

  it('counts published events by source and channel', async () => {
    const { publisher, metrics } = await setup();
    await publisher.publish(app, event({ channels: ['a', 'b'] }), { source: 'notification' });
    const values = (await metrics.eventsPublished.get()).values;
    assert.deepEqual(values.map((v) => [v.labels.type, v.value]), [['notification', 2]]);
  });

  it('fans terminate-user out and refuses ids that cannot be user ids', async () => {
    const { publisher, seen } = await setup();
    assert.equal(await publisher.terminateUserConnections(app, 'u-1'), true);
    assert.equal(await publisher.terminateUserConnections(app, 'not valid'), false);
    assert.deepEqual(seen, [{ v: 1, type: 'terminate-user', app: 'a1', userId: 'u-1' }]);
  });
});
