import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { App, AppStore } from '../../src/apps/app-store.js';
import { EventBus } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { Notification } from '../../src/notifications/contract/notification-schema.js';
import { NotificationService } from '../../src/notifications/intake.js';
import { parseChunkJob } from '../../src/notifications/pipeline/chunk-job.js';
import type { ChunkJob } from '../../src/notifications/pipeline/chunk-job.js';
import { Dispatcher } from '../../src/notifications/pipeline/dispatcher.js';
import { NotificationFinisher } from '../../src/notifications/pipeline/finisher.js';
import type { RealtimeEvent, RealtimePublisher } from '../../src/notifications/ports.js';
import { MemoryStatusStore } from '../../src/notifications/status/memory-status-store.js';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';
import { GroupCommit } from '../../src/notifications/group-commit.js';
import { singleEnvelopeJobId } from '../../src/notifications/contract/envelope.js';
import type { Envelope } from '../../src/notifications/contract/envelope.js';

const app = { id: 'app-1', enabled: true, apns: { topic: 'com.example.app' } } as unknown as App;
const apps: AppStore = { byId: (id) => (id === app.id ? app : undefined), byKey: () => undefined, all: () => [app] };
const tokens = Array.from({ length: 4 }, (_, i) => i.toString(16).padStart(64, '0'));

/**
 * A worker that picked the job up as the cancel came in: the job is not removed (it is
 * running), so only the status record stands between it and APNs.
 */
describe('a worker racing a cancel', () => {
  function setup() {
    let now = 1_000_000;
    const clock = () => now;
    const store = new MemoryStatusStore(3600, clock);
    const events = new EventBus();
    const metrics = createMetrics({ defaults: false });
    const log = silentLogger();
    const chunks = new MemoryQueueDriver<ChunkJob>({ name: 'chunks', jobName: 'chunk', parse: parseChunkJob, maxJobAttempts: 3, backoff: () => 0 });
    const notify = new MemoryQueueDriver<Notification>({ name: 'notifications', jobName: 'notify', parse: (data) => ({ ok: true, value: data as Notification }), maxJobAttempts: 3, backoff: () => 0 });
    const published: RealtimeEvent[] = [];
    const publisher: RealtimePublisher = {
      publish: async (_app, event) => {
        published.push(event);
        return { ok: true, channels: event.channels.length };
      },
    };
    const inline: ChunkJob[] = [];
    const finisher = new NotificationFinisher({ store, events, metrics, log, now: clock });
    const dispatcher = new Dispatcher({
      apps,
      store,
      chunksOf: () => chunks,
      publisher,
      finisher,
      events,
      metrics,
      log,
      chunkSize: 2,
      now: clock,
      sendInline: async (job) => {
        inline.push(job.data);
        return { type: 'done' };
      },
    });
    const envelopes = new MemoryQueueDriver<Envelope>({ name: 'notification-batches', jobName: 'notify-batch', parse: (data) => ({ ok: true, value: data as Envelope }), maxJobAttempts: 3, backoff: () => 0 });
    const commit = new GroupCommit({ envelopes: [envelopes], store, windowMs: 0, now: clock });
    const service = new NotificationService({ queue: notify, commit, envelopeOf: () => envelopes, store, events, metrics, chunkSize: 2, checkRealtime: () => undefined, now: clock });
    const failed: unknown[] = [];
    events.on('notification.failed', (e) => failed.push(e));
    // Run as its envelope: a `sendAt` notification travels alone, in job `e:<app>:<id>`.
    const run = (n: Notification) => dispatcher.run(n, { id: singleEnvelopeJobId({ app: app.id, id: n.id }), attempt: 1, enqueuedAt: 1_000_000 });
    return { store, chunks, published, inline, service, failed, run, advance: (ms: number) => (now += ms), envelopes };
  }

  const scheduled = (id: string, sendAt: number): Notification => ({
    v: 1,
    app: app.id,
    id,
    sendAt: new Date(sendAt).toISOString(),
    apns: { tokens, payload: { aps: { alert: 'hi' } } },
    realtime: { channels: ['a'], event: 'e', data: { x: 1 } },
  });

  it('sends nothing, publishes nothing and cuts no chunk when the record was cancelled first', async () => {
    const { service, store, chunks, published, inline, failed, run, advance, envelopes } = setup();
    const n = scheduled('s-1', 1_000_000 + 60_000);
    assert.equal((await service.accept(app, n)).status, 'accepted');
    assert.equal(await envelopes.state('e:app-1:s-1'), 'delayed', 'queued as its own delayed envelope');
    assert.deepEqual(await service.cancel(app, 's-1'), { status: 'cancelled' });
    assert.equal(await envelopes.state('e:app-1:s-1'), undefined, 'the delayed job is removed');
    assert.deepEqual(failed, [{ app: app.id, id: 's-1', sent: 0, failed: 0, reason: 'cancelled' }]);
    // The job had been taken before the removal: it runs at its send time anyway.
    advance(60_000);
    assert.deepEqual(await run(n), { type: 'done' });
    assert.deepEqual([published.length, inline.length, (await chunks.counts()).waiting], [0, 0, 0]);
    const status = await store.get({ app: app.id, id: 's-1' });
    assert.deepEqual([status?.state, status?.error, status?.apns.sent], ['failed', 'cancelled', 0]);
  });

  it('refuses the cancel (409 state) once the worker started it, and then delivers', async () => {
    const { service, published, run, advance } = setup();
    const n = scheduled('s-2', 1_000_000 + 1_000);
    assert.equal((await service.accept(app, n)).status, 'accepted');
    advance(1_000);
    await run(n);
    assert.deepEqual(await service.cancel(app, 's-2'), { status: 'refused', state: 'active' });
    assert.equal(published.length, 1);
    assert.deepEqual(await service.cancel(app, 'never-sent'), { status: 'unknown' });
  });
});
