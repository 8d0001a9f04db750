import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { StaticAppStore } from '../../src/apps/app-store.js';
import { loadConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/events.js';
import type { HeraldEventName, HeraldEvents } from '../../src/events.js';
import { LocalAdapter } from '../../src/gateway/adapter/local-adapter.js';
import { GatewayPublisher } from '../../src/gateway/publisher.js';
import { MemoryChannelCache } from '../../src/gateway/state/memory-channel-cache.js';
import { MemoryChannelState } from '../../src/gateway/state/memory-channel-state.js';
import { WsGateway } from '../../src/gateway/ws-gateway.js';
import { channelRoutes } from '../../src/http/routes/channels.js';
import { eventRoutes } from '../../src/http/routes/events.js';
import { userRoutes } from '../../src/http/routes/users.js';
import { HttpServer } from '../../src/http/server.js';
import type { Service } from '../../src/lib/service.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { RawClient, connected, gatewayTestConfig, pusherClient, serverSdk, subscribe, testApps } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;
const busEvents = ['connection.opened', 'connection.closed', 'channel.occupied', 'channel.vacated', 'member.added', 'member.removed', 'client.event', 'cache.miss', 'subscription.count'] as const;

type Recorded = { [K in HeraldEventName]: { name: K; payload: HeraldEvents[K] } }[HeraldEventName];

/** The gateway wired as main.ts wires it, in this process, so the event bus can be watched. */
async function startGateway(gateway: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-gateway-events-'));
  const file = join(dir, 'herald.yaml');
  writeFileSync(file, stringify({ ...gatewayTestConfig({ activityTimeoutSeconds: 60, ...gateway }), server: { host: '127.0.0.1', port: 0 } }));
  const config = loadConfig({ file, env: {} });
  const log = silentLogger();
  const metrics = createMetrics({ defaults: false });
  const events = new EventBus();
  const recorded: Recorded[] = [];
  for (const name of busEvents) events.on(name, (payload) => recorded.push({ name, payload } as Recorded));
  const apps = new StaticAppStore(config.apps);
  const http = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, apps, log, metrics });
  const adapter = new LocalAdapter();
  const state = new MemoryChannelState();
  const cache = new MemoryChannelCache();
  const gatewayService = new WsGateway({ apps, adapter, state, cache, events, log, metrics, config: config.gateway, nodeId: 'test-node' });
  const publisher = new GatewayPublisher({ adapter, cache, metrics, log, cacheTtlSeconds: config.gateway.cacheTtlSeconds });
  http.onUpgrade(gatewayService.handleUpgrade);
  http.addRoutes(eventRoutes({ publisher, state }));
  http.addRoutes(channelRoutes({ state, cache }));
  http.addRoutes(userRoutes(publisher));
  const services: Service[] = [adapter, state, cache, http, gatewayService];
  for (const service of services) await service.start();
  return {
    port: http.port,
    recorded,
    of: <K extends HeraldEventName>(name: K) => recorded.filter((r) => r.name === name).map((r) => r.payload as HeraldEvents[K]),
    async stop() {
      for (const service of [...services].reverse()) await service.stop(AbortSignal.timeout(5_000));
    },
  };
}

describe('gateway events on the bus', () => {
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => gateway.stop());

  it('announces connection.opened and connection.closed with the socket id and close code', async () => {
    const { client, socketId } = await RawClient.connect(gateway.port, main.key);
    await waitFor(() => gateway.of('connection.opened').some((e) => e.socketId === socketId), { what: 'connection.opened' });
    client.ws.close(1000);
    await waitFor(() => gateway.of('connection.closed').some((e) => e.socketId === socketId), { what: 'connection.closed' });
    assert.deepEqual(gateway.of('connection.closed').find((e) => e.socketId === socketId), { app: main.id, socketId, code: 1000 });
  });

  it('announces channel.occupied once for the first socket and channel.vacated once after the last', async () => {
    const a = await RawClient.connect(gateway.port, main.key);
    const b = await RawClient.connect(gateway.port, main.key);
    for (const { client } of [a, b]) {
      client.send({ event: 'pusher:subscribe', data: { channel: 'occupancy' } });
      await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    }
    a.client.send({ event: 'pusher:unsubscribe', data: { channel: 'occupancy' } });
    await b.client.close();
    await waitFor(() => gateway.of('channel.vacated').some((e) => e.channel === 'occupancy'), { what: 'channel.vacated' });
    assert.deepEqual(gateway.of('channel.occupied').filter((e) => e.channel === 'occupancy'), [{ app: main.id, channel: 'occupancy' }]);
    assert.equal(gateway.of('channel.vacated').filter((e) => e.channel === 'occupancy').length, 1);
    await a.client.close();
  });

  it('announces member.added and member.removed once per user, not per socket', async () => {
    const sdk = serverSdk(gateway.port, main);
    const sockets = await Promise.all([0, 1, 2].map(() => RawClient.connect(gateway.port, main.key)));
    const users = ['dana', 'dana', 'eli'];
    for (const [i, { client, socketId }] of sockets.entries()) {
      client.send({ event: 'pusher:subscribe', data: { channel: 'presence-bus', ...sdk.authorizeChannel(socketId, 'presence-bus', { user_id: users[i] as string }) } });
      await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    }
    for (const { client } of sockets) await client.close();
    await waitFor(() => gateway.of('member.removed').filter((e) => e.channel === 'presence-bus').length === 2, { what: 'two member.removed' });
    const ids = (name: 'member.added' | 'member.removed') => gateway.of(name).filter((e) => e.channel === 'presence-bus').map((e) => e.userId).sort();
    assert.deepEqual(ids('member.added'), ['dana', 'eli']);
    assert.deepEqual(ids('member.removed'), ['dana', 'eli']);
  });

  it('announces client.event with event, data and socket id, plus user id on presence', async () => {
    const sender = pusherClient(gateway.port, main, { presence: { user_id: 'talker' } });
    try {
      const socketId = await connected(sender);
      const { channel } = await subscribe(sender, 'presence-chatter');
      channel.trigger('client-hello', { n: 1 });
      await waitFor(() => gateway.of('client.event').length > 0, { what: 'client.event' });
      assert.deepEqual(gateway.of('client.event')[0], { app: main.id, channel: 'presence-chatter', event: 'client-hello', data: { n: 1 }, dataJson: '{"n":1}', socketId, userId: 'talker' });
    } finally {
      sender.disconnect();
    }
  });

  it('announces cache.miss when a cache channel is joined empty, and subscription.count when the app counts', async () => {
    const { client } = await RawClient.connect(gateway.port, main.key);
    client.send({ event: 'pusher:subscribe', data: { channel: 'cache-bus' } });
    await client.next((f) => f.event === 'pusher:cache_miss');
    assert.deepEqual(gateway.of('cache.miss'), [{ app: main.id, channel: 'cache-bus' }]);
    await waitFor(() => gateway.of('subscription.count').some((e) => e.channel === 'cache-bus' && e.count === 1), { what: 'subscription.count' });
    await client.close();
  });
});

describe('gateway events with a vacate delay', () => {
  it('drops a vacate/occupy pair when a socket comes back within the delay', async () => {
    const gateway = await startGateway({ vacateDelayMs: 2_000 });
    try {
      const join = async () => {
        const connection = await RawClient.connect(gateway.port, main.key);
        connection.client.send({ event: 'pusher:subscribe', data: { channel: 'flappy' } });
        await connection.client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
        return connection.client;
      };
      const first = await join();
      await first.close();
      const second = await join();
      await second.close();
      await waitFor(() => gateway.of('channel.vacated').length === 1, { timeoutMs: 10_000, what: 'the delayed channel.vacated' });
      assert.deepEqual(
        gateway.recorded.filter((r) => r.name === 'channel.occupied' || r.name === 'channel.vacated').map((r) => r.name),
        ['channel.occupied', 'channel.vacated'],
      );
    } finally {
      await gateway.stop();
    }
  });
});
