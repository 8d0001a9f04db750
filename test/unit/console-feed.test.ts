import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsoleEvent } from '../../src/console/console-event.js';
import { ConsoleFeed } from '../../src/console/console-feed.js';
import { observedProvider } from '../../src/console/observed-provider.js';
import { Viewer } from '../../src/console/viewer.js';
import type { ViewerSink } from '../../src/console/viewer.js';
import { viewerCounters } from '../../src/console/viewer-counters.js';
import { EventBus } from '../../src/events.js';
import { LocalAdapter } from '../../src/gateway/adapter/local-adapter.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Provider, ProviderKind, PushBatch, PushResult } from '../../src/providers/provider.js';

// Each provider's per-token outcomes are labelled with that provider, and every
// provider's invalid-token events reach the feed, not APNs' alone.

const APP = 'shop';
const SUBSCRIPTION = { endpoint: 'https://push.example.net/send/secret-path-of-the-subscription', keys: { p256dh: `B${'p'.repeat(86)}`, auth: 'a'.repeat(22) } };

/** Collects the events a viewer of APP is sent. */
class Collector implements ViewerSink {
  readonly writableLength = 0;
  readonly events: ConsoleEvent[] = [];
  write(chunk: string): boolean {
    const data = /^event: event\ndata: (.*)\n/.exec(chunk)?.[1];
    if (data) this.events.push(JSON.parse(data) as ConsoleEvent);
    return true;
  }
  end(): void {}
}

async function startFeed(): Promise<{ feed: ConsoleFeed; events: EventBus; seen: ConsoleEvent[] }> {
  const metrics = createMetrics({ defaults: false });
  const events = new EventBus();
  const feed = new ConsoleFeed({ events, adapter: new LocalAdapter(), nodeId: 'n1', bufferSize: 100, metrics });
  await feed.start();
  const sink = new Collector();
  feed.attach(new Viewer(APP, sink, { maxEventsPerSecond: 1_000, maxBufferedBytes: 1 << 20 }, viewerCounters(metrics)));
  return { feed, events, seen: sink.events };
}

/** A provider of `kind` answering the given outcomes in token order. */
function stubProvider(kind: ProviderKind, outcomes: ReadonlyArray<PushResult['outcome']>): Provider {
  return {
    kind,
    serves: () => true,
    health: () => ({ ok: true }),
    close: async () => {},
    async *send(batch: PushBatch): AsyncIterable<PushResult> {
      for (const [index, token] of batch.tokens.entries()) {
        const outcome = outcomes[index];
        if (outcome) yield { token, index, outcome };
      }
    },
  };
}

/** Sends `batch` through `provider` observed by the feed, as main.ts wires it. */
async function sendObserved(feed: ConsoleFeed, provider: Provider, batch: PushBatch): Promise<void> {
  const observed = observedProvider(provider, (kind, b, result) => feed.pushResult(kind, b, result));
  for await (const result of observed.send(batch, new AbortController().signal)) void result;
}

describe('console feed: push results by provider', () => {
  it('records an FCM result as fcm.result with its messageId, never as apns.result', async () => {
    const { feed, seen } = await startFeed();
    const messageId = 'projects/p/messages/0:1700000000%abc';
    await sendObserved(feed, stubProvider('fcm', [{ type: 'delivered', messageId }, { type: 'rejected', reason: 'Unregistered', invalidToken: true, status: 404 }]), {
      app: APP,
      notificationId: 'n-1',
      tokens: ['fcm-token-1', 'fcm-token-2'],
      payload: {},
    });
    assert.deepEqual(
      seen.map((e) => [e.type, e.detail]),
      [
        ['fcm.result', { id: 'n-1', token: 'fcm-token-1', outcome: 'delivered', messageId }],
        ['fcm.result', { id: 'n-1', token: 'fcm-token-2', outcome: 'rejected', reason: 'Unregistered', invalidToken: true }],
      ],
    );
    await feed.stop();
  });

  it('keeps apns.result with its apnsId', async () => {
    const { feed, seen } = await startFeed();
    await sendObserved(feed, stubProvider('apns', [{ type: 'delivered', apnsId: 'A1B2C3D4-0000-0000-0000-000000000001' }]), { app: APP, notificationId: 'n-2', tokens: ['ab'.repeat(32)], payload: {} });
    assert.deepEqual(
      seen.map((e) => [e.type, e.detail]),
      [['apns.result', { id: 'n-2', token: 'ab'.repeat(32), outcome: 'delivered', apnsId: 'A1B2C3D4-0000-0000-0000-000000000001' }]],
    );
    await feed.stop();
  });

  it('records a Web Push result as webpush.result with the origins of its message URL and endpoint, never the keys or either path', async () => {
    const { feed, seen } = await startFeed();
    const messageId = 'https://push.example.net/message/m-1';
    const batch: PushBatch = { app: APP, notificationId: 'n-3', tokens: ['browser-1', 'browser-2'], payload: {}, web: { subscriptions: new Map([['browser-1', SUBSCRIPTION]]) } };
    await sendObserved(feed, stubProvider('web', [{ type: 'delivered', messageId }, { type: 'rejected', reason: 'UnknownSubscription', invalidToken: false }]), batch);
    assert.deepEqual(
      seen.map((e) => [e.type, e.detail]),
      [
        ['webpush.result', { id: 'n-3', token: 'browser-1', endpoint: 'https://push.example.net', outcome: 'delivered', messageId: 'https://push.example.net' }],
        ['webpush.result', { id: 'n-3', token: 'browser-2', outcome: 'rejected', reason: 'UnknownSubscription' }],
      ],
    );
    const shown = JSON.stringify(seen);
    for (const secret of [SUBSCRIPTION.keys.p256dh, SUBSCRIPTION.keys.auth, 'secret-path-of-the-subscription']) assert.ok(!shown.includes(secret), `${secret} is not shown`);
    await feed.stop();
  });
});

describe('console feed: invalid tokens and removed devices of every provider', () => {
  it('records fcm.token_invalid, webpush.subscription_invalid (endpoint origin only) and device.removed like apns.token_invalid', async () => {
    const { feed, events, seen } = await startFeed();
    events.emit('apns.token_invalid', { app: APP, notificationId: 'n-4', token: 'cd'.repeat(32), reason: 'Unregistered', timestamp: 1_000 });
    events.emit('fcm.token_invalid', { app: APP, notificationId: 'n-4', token: 'fcm-token-2', reason: 'Unregistered' });
    events.emit('webpush.subscription_invalid', { app: APP, notificationId: 'n-4', token: 'browser-1', reason: 'Gone', endpoint: SUBSCRIPTION.endpoint });
    events.emit('webpush.subscription_invalid', { app: APP, notificationId: 'n-4', token: 'browser-2', reason: 'BadSubscription' });
    events.emit('device.removed', { app: APP, token: 'fcm-token-2', userId: '42', reason: 'Unregistered' });
    events.emit('fcm.token_invalid', { app: 'another-app', notificationId: 'n-5', token: 'fcm-token-3', reason: 'Unregistered' });
    assert.deepEqual(
      seen.map((e) => [e.type, e.detail]),
      [
        ['apns.token_invalid', { id: 'n-4', token: 'cd'.repeat(32), reason: 'Unregistered' }],
        ['fcm.token_invalid', { id: 'n-4', token: 'fcm-token-2', reason: 'Unregistered' }],
        ['webpush.subscription_invalid', { id: 'n-4', token: 'browser-1', reason: 'Gone', endpoint: 'https://push.example.net' }],
        ['webpush.subscription_invalid', { id: 'n-4', token: 'browser-2', reason: 'BadSubscription' }],
        ['device.removed', { token: 'fcm-token-2', userId: '42', reason: 'Unregistered' }],
      ],
    );
    await feed.stop();
  });
});
