import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import Pusher from 'pusher';
import type * as ClientModule from '../../src/client/index.js';
import type { HeraldClient as HeraldClientType } from '../../src/client/index.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { collect, connected, pusherClient, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { deviceTokens } from './apns-harness.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

// Loaded the way a user loads it: by the package's own name, through package.json "exports".
const specifier = 'herald/client';
const { HeraldClient, HeraldClientError } = (await import(specifier)) as typeof ClientModule;

const shop = { id: 'shop', key: 'shop-key', secret: 'shop-secret-0001' };
const other = { id: 'other', key: 'other-key', secret: 'other-secret-001' };

function daemonConfig(creds: TestCredentials, mock: ApnsMock, hooks: WebhookReceiver, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    webhooks: { batchMs: 10 },
    apps: [
      {
        ...shop,
        webhooks: [{ url: hooks.url, events: ['notification_completed', 'notification_failed', 'apns_token_invalid'] }],
        apns: {
          topic: creds.bundleId,
          cert: creds.clientCertPath,
          key: creds.clientKeyPath,
          endpoint: { host: '127.0.0.1', port: mock.port, ca: creds.caCertPath },
          requestTimeoutMs: 10_000,
        },
      },
      other,
    ],
    ...extra,
  };
}

/** One notification with both parts, checked at the APNs mock, at a pusher-js subscriber and through status(). */
async function deliverBoth(client: HeraldClientType, mock: ApnsMock, subscriber: PusherClient, hooks: WebhookReceiver, label: string): Promise<void> {
  const { channel } = await subscribe(subscriber, `private-orders-${label}`);
  const events = collect<{ orderId: number }>(channel, 'order.shipped');
  const tokens = deviceTokens(3, label);
  const before = mock.requests.length;
  const id = await client.notify({
    id: `order-${label}`,
    apns: { tokens: tokens.map((t) => t.toUpperCase()), collapseId: 'order', payload: { aps: { alert: { title: 'Shipped', body: label } }, orderId: 1 } },
    realtime: { channels: [`private-orders-${label}`], event: 'order.shipped', data: { orderId: 1 } },
  });
  assert.equal(id, `order-${label}`);
  const status = await waitFor(async () => {
    const s = await client.status(id);
    return s?.state === 'completed' ? s : undefined;
  }, { what: 'completed status' });
  assert.equal(status.apns.sent, 3);
  assert.equal(status.apns.failed, 0);
  assert.equal(status.realtime.channels, 1);
  const requests = mock.requests.slice(before).filter((r) => tokens.includes(r.token));
  assert.deepEqual(requests.map((r) => r.token).sort(), [...tokens].sort(), 'normalised tokens, each once');
  for (const request of requests) {
    assert.equal(request.headers['apns-topic'], 'com.example.app');
    assert.equal(request.headers['apns-push-type'], 'alert');
    assert.equal(request.headers['apns-collapse-id'], 'order');
    assert.deepEqual(request.payload, { aps: { alert: { title: 'Shipped', body: label } }, orderId: 1 });
  }
  await waitFor(() => events.length === 1, { what: 'the realtime event' });
  assert.deepEqual(events[0]?.data, { orderId: 1 });
  await waitFor(() => acceptedEvents(hooks).some((e) => e.notification_id === id), { what: 'notification_completed webhook' });
  assert.deepEqual(acceptedEvents(hooks).find((e) => e.notification_id === id), { name: 'notification_completed', notification_id: id, sent: 3, failed: 0 });
}

/**
 * cancel(): a scheduled notification is cancelled and never sent; a finished one is
 * refused with its state; an unknown id says so. A later notification due after the
 * cancelled one's send time is the condition waited on: once it is delivered, the
 * cancelled one would have been too.
 */
async function cancelScheduled(client: HeraldClientType, mock: ApnsMock, label: string): Promise<void> {
  const [token = '', markerToken = ''] = deviceTokens(2, `cancel-${label}`);
  const sendAt = Date.now() + 1_500;
  const id = await client.notify({ id: `cancel-${label}`, sendAt: new Date(sendAt).toISOString(), apns: { tokens: [token], payload: { aps: { alert: 'never' } } } });
  assert.deepEqual(await client.cancel(id), { cancelled: true });
  assert.deepEqual(await client.cancel(id), { cancelled: false, state: 'failed' });
  const status = await client.status(id);
  assert.deepEqual([status?.state, status?.error], ['failed', 'cancelled']);
  const marker = await client.notify({ sendAt: new Date(sendAt + 300).toISOString(), apns: { tokens: [markerToken], payload: { aps: { alert: 'after' } } } });
  await waitFor(async () => (await client.status(marker))?.state === 'completed', { timeoutMs: 20_000, what: 'the later notification delivered' });
  assert.deepEqual(await client.cancel(marker), { cancelled: false, state: 'completed' });
  assert.equal(mock.requests.filter((r) => r.token === token).length, 0, 'the cancelled notification never reached APNs');
  assert.deepEqual(await client.cancel('never-sent'), { cancelled: false, state: undefined });
}

/**
 * sendMany(): every notification answered (not duplicate) and known to status() at once,
 * each device reached exactly once, every status completed; a repeat of the call answers
 * duplicate for all and sends nothing more.
 */
async function deliverMany(client: HeraldClientType, mock: ApnsMock, label: string, count: number): Promise<void> {
  const tokens = deviceTokens(count, `many-${label}`);
  const notifications = tokens.map((token, i) => ({ id: `many-${label}-${i}`, apns: { tokens: [token], payload: { aps: { alert: `${label} ${i}` } } } }));
  const results = await client.sendMany(notifications);
  assert.deepEqual(results, notifications.map((n) => ({ id: n.id, duplicate: false })));
  const first = await client.status(notifications[0]?.id ?? '');
  assert.ok(first !== undefined, 'status answers right after sendMany');
  await waitFor(async () => {
    const states = await Promise.all(notifications.map(async (n) => (await client.status(n.id))?.state));
    return states.every((state) => state === 'completed');
  }, { timeoutMs: 30_000, what: `${count} notifications completed` });
  const reached = mock.requests.filter((r) => tokens.includes(r.token)).map((r) => r.token);
  assert.deepEqual([...reached].sort(), [...tokens].sort(), 'each device once');
  const repeat = await client.sendMany(notifications);
  assert.deepEqual(repeat, notifications.map((n) => ({ id: n.id, duplicate: true })));
  const last = notifications[count - 1]?.id ?? '';
  assert.equal((await client.status(last))?.state, 'completed');
  assert.equal(mock.requests.filter((r) => tokens.includes(r.token)).length, count, 'the repeat sent nothing');
}

describe('herald/client', () => {
  let creds: TestCredentials;
  let mock: ApnsMock;
  let hooks: WebhookReceiver;
  const subscribers: PusherClient[] = [];

  before(async () => {
    creds = await testCredentials();
    mock = await ApnsMock.start({ credentials: creds, auth: 'certificate' });
    hooks = await startWebhookReceiver();
  });

  after(async () => {
    for (const s of subscribers) s.disconnect();
    await mock.close();
    await hooks.close();
  });

  async function subscriber(herald: HeraldProcess): Promise<PusherClient> {
    const s = pusherClient(herald.httpPort, shop);
    subscribers.push(s);
    await connected(s);
    return s;
  }

  it('resolves as herald/client to the built package entry', () => {
    assert.equal(import.meta.resolve(specifier), new URL('../../dist/src/client/index.js', import.meta.url).href);
    assert.equal(typeof HeraldClient, 'function');
    assert.equal(typeof HeraldClientError, 'function');
  });

  describe('over the HTTP API (embedded daemon)', () => {
    let herald: HeraldProcess;
    let client: HeraldClientType;

    before(async () => {
      herald = await startHeraldProcess({ config: daemonConfig(creds, mock, hooks) });
      client = new HeraldClient({ url: herald.baseUrl, appId: shop.id, key: shop.key, secret: shop.secret });
    });

    after(async () => {
      await client.close();
      await herald.stop();
    });

    it('notify() queues, the devices and the subscriber get it, status() follows it to completed', async () => {
      await deliverBoth(client, mock, await subscriber(herald), hooks, 'http');
    });

    it('reports invalid tokens in status() and as apns_token_invalid webhooks', async () => {
      const [good, gone] = deviceTokens(2, 'gone');
      mock.script({ token: gone as string, reply: { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
      const id = await client.notify({ apns: { tokens: [good as string, gone as string], payload: { aps: { alert: 'hi' } } } });
      const status = await waitFor(async () => {
        const s = await client.status(id);
        return s?.state === 'completed' ? s : undefined;
      });
      assert.equal(status.apns.sent, 1);
      assert.equal(status.apns.failed, 1);
      assert.deepEqual(status.apns.invalidTokens, [{ token: gone, reason: 'Unregistered', timestamp: 1_700_000_000_000 }]);
      await waitFor(() => acceptedEvents(hooks).some((e) => e.name === 'apns_token_invalid' && e.token === gone), { what: 'apns_token_invalid webhook' });
      const hook = acceptedEvents(hooks).find((e) => e.name === 'apns_token_invalid' && e.token === gone);
      assert.deepEqual(hook, { name: 'apns_token_invalid', token: gone, reason: 'Unregistered', timestamp: 1_700_000_000_000, notification_id: id });
    });

    it('send() says when an id already exists, and nothing goes out twice', async () => {
      const [token] = deviceTokens(1, 'twice');
      const first = await client.send({ id: 'only-once', apns: { tokens: [token as string], payload: { aps: { alert: 'once' } } } });
      assert.deepEqual(first, { id: 'only-once', duplicate: false });
      await waitFor(async () => (await client.status('only-once'))?.state === 'completed');
      const again = await client.send({ id: 'only-once', apns: { tokens: [token as string], payload: { aps: { alert: 'once' } } } });
      assert.deepEqual(again, { id: 'only-once', duplicate: true });
      assert.equal(mock.requests.filter((r) => r.token === token).length, 1);
    });

    it('throws HeraldClientError with the code, status and path of a refusal', async () => {
      await assert.rejects(client.notify({ apns: { tokens: ['ab'.repeat(32), 'xyz'], payload: { aps: { alert: 'x' } } } }), (err: unknown) => {
        assert.ok(err instanceof HeraldClientError);
        assert.equal(err.code, 'invalid');
        assert.equal(err.status, 400);
        assert.equal(err.path, 'apns.tokens[1]');
        return true;
      });
      await assert.rejects(client.notify({ app: 'other', realtime: { channels: ['a'], event: 'e', data: 1 } }), { code: 'invalid', path: 'app' });
      const forged = new HeraldClient({ url: herald.baseUrl, appId: shop.id, key: shop.key, secret: 'not-the-secret-1' });
      await assert.rejects(forged.notify({ realtime: { channels: ['a'], event: 'e', data: 1 } }), { code: 'unauthorized', status: 401 });
    });

    it("takes another app's id as this app's own notification (it used to be refused 409)", async () => {
      const otherApp = new HeraldClient({ url: herald.baseUrl, appId: other.id, key: other.key, secret: other.secret });
      assert.deepEqual(await otherApp.send({ id: 'only-once', realtime: { channels: ['a'], event: 'e', data: 1 } }), { id: 'only-once', duplicate: false });
      const own = await waitFor(async () => {
        const status = await otherApp.status('only-once');
        return status?.state === 'completed' ? status : undefined;
      });
      assert.deepEqual([own.apns.total, own.realtime.channels], [0, 1], "the other app's own notification, not the shop's");
      assert.equal((await client.status('only-once'))?.apns.total, 1);
    });

    it('puts the id it chose on an unavailable error, so sending again with it queues once (a retry used to make a second notification)', async () => {
      const down = new HeraldClient({ url: 'http://127.0.0.1:9', appId: shop.id, key: shop.key, secret: shop.secret });
      const notification = { realtime: { channels: ['a'], event: 'retried', data: 1 } };
      const failure: unknown = await down.send(notification).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure instanceof HeraldClientError);
      assert.equal(failure.code, 'unavailable');
      assert.equal(typeof failure.id, 'string');
      const id = failure.id as string;
      assert.deepEqual(await client.send({ ...notification, id }), { id, duplicate: false });
      assert.deepEqual(await client.send({ ...notification, id }), { id, duplicate: true });
    });

    it('status() of an unknown id is undefined', async () => {
      assert.equal(await client.status('never-sent'), undefined);
    });

    it('cancel() cancels a scheduled notification, which is never sent', async () => {
      await cancelScheduled(client, mock, 'http');
    });

    it('sendMany() posts each notification and answers for each; a repeat answers duplicate for all', async () => {
      await deliverMany(client, mock, 'http', 150);
    });

    it("sendMany() names the index of a notification the daemon refused (the app's own checks) and carries the call's ids", async () => {
      const otherApp = new HeraldClient({ url: herald.baseUrl, appId: other.id, key: other.key, secret: other.secret });
      const notifications = [
        { id: 'm-ok', realtime: { channels: ['a'], event: 'e', data: 1 } },
        { apns: { tokens: deviceTokens(1, 'no-apns'), payload: { aps: { alert: 'x' } } } },
      ];
      const failure: unknown = await otherApp.sendMany(notifications).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure instanceof HeraldClientError);
      assert.equal(failure.code, 'invalid');
      assert.equal(failure.status, 400);
      assert.equal(failure.index, 1);
      assert.equal(failure.path, '[1].apns');
      assert.equal(failure.ids?.length, 2);
      assert.equal(failure.ids?.[0], 'm-ok');
      // Sent again with those ids: the accepted one is a duplicate, nothing queued twice.
      const again = await otherApp.sendMany([{ ...notifications[0], id: failure.ids?.[0] ?? '' }]);
      assert.deepEqual(again, [{ id: 'm-ok', duplicate: true }]);
    });
  });

  describe('straight into BullMQ on Redis (daemon in Redis mode)', () => {
    let redis: TestRedis;
    let herald: HeraldProcess;
    let client: HeraldClientType;
    let connection: Redis;

    before(async () => {
      redis = await startRedis();
      herald = await startHeraldProcess({
        config: daemonConfig(creds, mock, hooks, { redis: { url: redis.url, keyPrefix: 'hk' }, queue: { prefix: 'hq' } }),
      });
      client = new HeraldClient({ redis: redis.url, prefix: 'hq', keyPrefix: 'hk', app: shop.id });
      connection = new Redis(redis.url);
    });

    after(async () => {
      await client.close();
      connection.disconnect();
      await herald.stop();
      await redis.stop();
    });

    it('notify() adds a notify job the daemon delivers; status() reads the shared status', async () => {
      await deliverBoth(client, mock, await subscriber(herald), hooks, 'redis');
      assert.equal(await connection.exists('hq:notifications:n:shop:order-redis'), 1, 'a BullMQ job under the queue prefix, jobId = n:<app>:<id>');
    });

    it('refuses an invalid notification before anything reaches Redis', async () => {
      const keysBefore = (await connection.keys('hq:notifications:*')).length;
      await assert.rejects(client.notify({ apns: { tokens: ['zz'], payload: { aps: { alert: 'x' } } } }), (err: unknown) => {
        assert.ok(err instanceof HeraldClientError);
        assert.equal(err.code, 'invalid');
        assert.equal(err.path, 'apns.tokens[0]');
        return true;
      });
      assert.equal((await connection.keys('hq:notifications:*')).length, keysBefore);
    });

    it('takes ids named like BullMQ keys as plain ids: the queue keeps working (id "wait" used to overwrite its waiting list)', async () => {
      const ids = ['wait', 'meta', 'events', 'id'];
      for (const id of ids) assert.deepEqual(await client.send({ id, realtime: { channels: ['news'], event: 'keyed', data: id } }), { id, duplicate: false });
      for (const id of ids) await waitFor(async () => (await client.status(id))?.state === 'completed', { what: `notification '${id}' completed` });
      assert.ok(['list', 'none'].includes(await connection.type('hq:notifications:wait')));
      const later = await client.notify({ realtime: { channels: ['news'], event: 'later', data: 1 } });
      await waitFor(async () => (await client.status(later))?.state === 'completed', { what: 'a later notification completed' });
    });

    it('cancel() cancels a scheduled notification (its delayed job removed), which is never sent', async () => {
      await cancelScheduled(client, mock, 'redis');
      assert.equal(await connection.exists('hq:notifications:n:shop:cancel-redis'), 0, 'the delayed job is gone');
    });

    it('reports a duplicate id without queueing it again', async () => {
      const notification = { id: 'redis-once', realtime: { channels: ['news'], event: 'e', data: 'x' } };
      assert.deepEqual(await client.send(notification), { id: 'redis-once', duplicate: false });
      assert.deepEqual(await client.send(notification), { id: 'redis-once', duplicate: true });
    });

    it('sendMany() writes one envelope job the daemon delivers; a repeat answers duplicate for all', async () => {
      await deliverMany(client, mock, 'redis', 300);
      // BullMQ's events stream names every job added; a shared envelope is forgotten once completed.
      const events = await connection.xrange('hq:notification-batches:events', '-', '+');
      const added = events.filter(([, fields]) => fields[1] === 'added' && fields.includes('jobId') && String(fields[fields.indexOf('jobId') + 1]).startsWith('b:0:'));
      assert.equal(added.length, 1, 'one envelope job for the 300, none for the repeat');
      const kept = (await connection.keys('hq:notification-batches:b:0:*')).filter((key) => /^hq:notification-batches:b:0:[^:]+$/.test(key));
      assert.deepEqual(kept, [], 'the completed envelope is forgotten');
    });

    it('leaves a connection it was given open, and says when Redis is unreachable', async () => {
      const mine = new Redis(redis.url);
      const borrowed = new HeraldClient({ redis: mine, prefix: 'hq', keyPrefix: 'hk', app: shop.id });
      assert.equal(await borrowed.status('never-sent'), undefined);
      await borrowed.close();
      assert.equal(await mine.ping(), 'PONG');
      mine.disconnect();
      const unreachable = new HeraldClient({ redis: 'redis://127.0.0.1:9/0', app: shop.id });
      await assert.rejects(unreachable.notify({ realtime: { channels: ['a'], event: 'e', data: 1 } }), { code: 'unavailable' });
      await unreachable.close();
    });
  });

  describe('straight into Redis with queue.partitions: 3', () => {
    // Unset until the hook that makes them has run.
    let redis: TestRedis | undefined;
    let herald: HeraldProcess | undefined;
    let client: HeraldClientType | undefined;
    const started = (): { herald: HeraldProcess; client: HeraldClientType } => {
      assert.ok(herald && client, 'the daemon started');
      return { herald, client };
    };

    before(async () => {
      redis = await startRedis();
      herald = await startHeraldProcess({
        config: daemonConfig(creds, mock, hooks, { redis: { url: redis.url, keyPrefix: 'hk' }, queue: { prefix: 'hq', partitions: 3 } }),
      });
      client = new HeraldClient({ redis: redis.url, prefix: 'hq', keyPrefix: 'hk', app: shop.id, partitions: 3 });
    });

    after(async () => {
      // Also after a failed start: nothing is left running.
      await client?.close();
      await herald?.stop();
      await redis?.stop();
    });

    it('sendMany() spreads envelopes over the partitions, the daemon delivers each once', async () => {
      await deliverMany(started().client, mock, 'partitioned', 300);
    });

    it('send() and status() find the notification in its partition; cancel() cancels a scheduled one', async () => {
      const { herald, client } = started();
      await deliverBoth(client, mock, await subscriber(herald), hooks, 'partitioned');
      await cancelScheduled(client, mock, 'partitioned');
    });
  });
});

// The pusher SDK's generic post reaches the same route: backends without herald/client are not left out.
describe('POST /apps/{id}/notifications with the pusher SDK', () => {
  it('is signed like any Pusher API call', async () => {
    const herald = await startHeraldProcess({ config: { apps: [shop] } });
    try {
      const sdk = new Pusher({ appId: shop.id, key: shop.key, secret: shop.secret, host: '127.0.0.1', port: String(herald.httpPort), useTLS: false });
      // The SDK JSON-encodes `body` itself; its typings say string.
      const body = { v: 1, app: shop.id, realtime: { channels: ['a'], event: 'e', data: 1 } } as unknown as string;
      const res = await sdk.post({ path: '/notifications', body });
      assert.equal(res.status, 202);
      const { id } = (await res.json()) as { id: string };
      const client = new HeraldClient({ url: herald.baseUrl, appId: shop.id, key: shop.key, secret: shop.secret });
      await waitFor(async () => (await client.status(id))?.state === 'completed', { what: 'completed' });
    } finally {
      await herald.stop();
    }
  });
});
