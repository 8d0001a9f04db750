import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App, AppStore } from '../../src/apps/app-store.js';
import { parseChunkJob } from '../../src/notifications/pipeline/chunk-job.js';
import type { ChunkJob } from '../../src/notifications/pipeline/chunk-job.js';
import { Dispatcher } from '../../src/notifications/pipeline/dispatcher.js';
import { EventBus } from '../../src/events.js';
import { MemoryStatusStore } from '../../src/notifications/status/memory-status-store.js';
import { NotificationFinisher } from '../../src/notifications/pipeline/finisher.js';
import type { PublishOptions, PublishResult, RealtimeEvent, RealtimePublisher } from '../../src/gateway/publisher.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Notification } from '../../src/notifications/contract/notification-schema.js';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';

const app = { id: 'app-1' } as unknown as App;
const apps: AppStore = { byId: (id) => (id === app.id ? app : undefined), byKey: () => undefined, all: () => [app] };

class RecordingPublisher implements RealtimePublisher {
  readonly published: RealtimeEvent[] = [];
  async publish(_app: App, event: RealtimeEvent, _options?: PublishOptions): Promise<PublishResult> {
    this.published.push(event);
    return { ok: true, channels: event.channels.length };
  }
}

function setup(now = 1_000_000, sendInline?: ConstructorParameters<typeof Dispatcher>[0]['sendInline']) {
  const store = new MemoryStatusStore(3600, () => now);
  const events = new EventBus();
  const accepted: unknown[] = [];
  events.on('notification.accepted', (e) => accepted.push(e));
  const metrics = createMetrics({ defaults: false });
  const log = silentLogger();
  const chunks = new MemoryQueueDriver<ChunkJob>({ name: 'chunks', jobName: 'chunk', parse: parseChunkJob, maxJobAttempts: 3, backoff: () => 0 });
  const publisher = new RecordingPublisher();
  const finisher = new NotificationFinisher({ store, events, metrics, log, now: () => now });
  const dispatcher = new Dispatcher({ apps, store, chunksOf: () => chunks, publisher, finisher, events, metrics, log, chunkSize: 3, now: () => now, ...(sendInline ? { sendInline } : {}) });
  const run = (n: Notification, signal?: AbortSignal) => dispatcher.handle({ id: n.id, data: n, attempt: 1, enqueuedAt: now }, signal);
  return { store, chunks, publisher, run, accepted };
}

const tokens = Array.from({ length: 7 }, (_, i) => i.toString(16).padStart(64, '0'));
const notification: Notification = {
  v: 1,
  app: app.id,
  id: 'n-1',
  apns: { tokens, payload: { aps: { alert: 'hi' } }, collapseId: 'c' },
  realtime: { channels: ['a', 'b'], event: 'e', data: { x: 1 }, socketId: '1.2' },
};

describe('Dispatcher', () => {
  it('creates the record, publishes the realtime part and cuts the tokens into chunk jobs', async () => {
    const { store, chunks, publisher, run, accepted } = setup();
    assert.deepEqual(await run(notification), { type: 'done' });
    assert.deepEqual(publisher.published, [{ channels: ['a', 'b'], name: 'e', data: '{"x":1}', socketId: '1.2' }]);
    assert.deepEqual(accepted, [{ app: app.id, id: 'n-1' }]);
    const status = await store.get({ app: app.id, id: 'n-1' });
    assert.deepEqual({ state: status?.state, total: status?.apns.total, realtime: status?.realtime }, { state: 'active', total: 7, realtime: { channels: 2 } });
    assert.deepEqual(await chunks.counts(), { waiting: 3, delayed: 0, active: 0, completed: 0, failed: 0 });
    assert.equal(await chunks.state(`c:${app.id}:n-1.c2`), 'waiting');
  });

  it('is safe to re-run after a crash: no second realtime publish, no second chunk job', async () => {
    const { chunks, publisher, run, accepted } = setup();
    await run(notification);
    await run(notification);
    assert.equal(publisher.published.length, 1);
    assert.equal(accepted.length, 1);
    assert.equal((await chunks.counts()).waiting, 3);
  });

  // Regression: a crash between publishing the realtime part and recording it published it again on the re-run.
  it('publishes the realtime part at most once when the process stops between publishing and recording it', async () => {
    const fixture = setup();
    const { store, publisher, run } = fixture;
    const recordRealtime = store.recordRealtime.bind(store);
    let crashes = 1;
    store.recordRealtime = async (ref, result) => {
      if (crashes-- > 0) throw new Error('process killed');
      return recordRealtime(ref, result);
    };
    await assert.rejects(run(notification), /process killed/);
    assert.deepEqual(await run(notification), { type: 'done' });
    assert.equal(publisher.published.length, 1);
    const status = await store.get({ app: app.id, id: 'n-1' });
    assert.equal(status?.realtime.channels, 0);
    assert.match(String(status?.realtime.error), /^not confirmed/);
  });

  it('publishes again on the retry when the publish itself failed with an error', async () => {
    const { store, publisher, run } = setup();
    const publish = publisher.publish.bind(publisher);
    let failures = 1;
    publisher.publish = async (a, event, options) => {
      if (failures-- > 0) throw new Error('Connection is closed.');
      return publish(a, event, options);
    };
    await assert.rejects(run(notification), /Connection is closed/);
    assert.deepEqual(await run(notification), { type: 'done' });
    assert.equal(publisher.published.length, 1);
    assert.deepEqual((await store.get({ app: app.id, id: 'n-1' }))?.realtime, { channels: 2 });
  });

  it('ignores a notification that already finished', async () => {
    const { store, chunks, publisher, run } = setup();
    await store.create({ id: 'n-1', app: app.id, createdAt: 0, tokens: 0, chunks: 0 });
    await store.completeChunk({ app: app.id, id: 'n-1' }, undefined, 1);
    assert.deepEqual(await run(notification), { type: 'done' });
    assert.equal(publisher.published.length, 0);
    assert.equal((await chunks.counts()).waiting, 0);
  });

  it('waits for sendAt before doing anything but recording the notification', async () => {
    const { store, publisher, run } = setup(Date.parse('2030-01-01T00:00:00Z'));
    assert.deepEqual(await run({ ...notification, sendAt: '2030-01-01T00:00:05Z' }), { type: 'delay', afterMs: 5_000 });
    assert.equal((await store.get({ app: app.id, id: 'n-1' }))?.state, 'queued');
    assert.equal(publisher.published.length, 0);
  });

  it('sends a notification whose tokens fit in one chunk inside its own job, and passes on what the send asks for', async () => {
    const inline: Array<{ id: string; from: number; tokens: number; signal: AbortSignal }> = [];
    const stop = new AbortController();
    const { chunks, publisher, run } = setup(1_000_000, async (job, signal) => {
      inline.push({ id: job.id, from: job.data.from, tokens: job.data.tokens.length, signal });
      return { type: 'delay', afterMs: 250 };
    });
    const small = { ...notification, apns: { ...notification.apns!, tokens: tokens.slice(0, 3) } };
    assert.deepEqual(await run(small, stop.signal), { type: 'delay', afterMs: 250 });
    assert.deepEqual(inline.map(({ signal: _s, ...rest }) => rest), [{ id: `c:${app.id}:n-1.c0`, from: 0, tokens: 3 }]);
    assert.equal(inline[0]?.signal, stop.signal);
    assert.equal((await chunks.counts()).waiting, 0);
    // The re-run after the delay publishes nothing again and sends inline once more.
    await run(small, stop.signal);
    assert.equal(publisher.published.length, 1);
    assert.equal(inline.length, 2);
    // More than one chunk: chunk jobs, as without an inline sender.
    assert.deepEqual(await run({ ...notification, id: 'n-2' }), { type: 'done' });
    assert.equal((await chunks.counts()).waiting, 3);
    assert.equal(inline.length, 2);
  });

  it("fails a job of an unknown app, and runs one whose id another app used as this app's own", async () => {
    const { store, run } = setup();
    assert.deepEqual(await run({ ...notification, app: 'nobody' }), { type: 'failed', reason: "unknown app 'nobody'" });
    await store.create({ id: 'taken', app: 'app-2', createdAt: 0, tokens: 0, chunks: 0 });
    assert.deepEqual(await run({ ...notification, id: 'taken' }), { type: 'done' });
    assert.equal((await store.get({ app: 'app-2', id: 'taken' }))?.state, 'queued');
    assert.equal((await store.get({ app: app.id, id: 'taken' }))?.app, app.id);
  });
});
