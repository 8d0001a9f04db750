import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvelope } from '../../src/notifications/contract/envelope.js';
import type { Envelope } from '../../src/notifications/contract/envelope.js';
import type { Notification } from '../../src/notifications/contract/notification-schema.js';
import { GroupCommit } from '../../src/notifications/group-commit.js';
import { MemoryStatusStore } from '../../src/notifications/status/memory-status-store.js';
import type { StatusStore } from '../../src/notifications/status/status-store.js';
import { MemoryQueueDriver } from '../../src/queue/memory-queue-driver.js';
import type { EnqueueOptions, EnqueueResult } from '../../src/queue/queue-driver.js';

const token = 'ab'.repeat(32);
const notification = (id: string, extra: Partial<Notification> = {}): Notification => ({ v: 1, app: 'app-1', id, apns: { tokens: [token], payload: { aps: { alert: 'hi' } } }, ...extra });
const plan = { tokens: 1, chunks: 1, notBefore: 0, delayMs: 0 };

/** A memory queue that remembers what was added, with which id and delay. */
class RecordingQueue extends MemoryQueueDriver<Envelope> {
  readonly added: Array<{ id: string; data: Envelope; options: EnqueueOptions }> = [];
  failNext: Error | undefined;

  constructor(name = 'notification-batches') {
    super({ name, jobName: 'notify-batch', parse: (data) => ({ ok: true, value: data as Envelope }), maxJobAttempts: 3, backoff: () => 0 });
  }

  override async enqueue(id: string, data: Envelope, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    this.added.push({ id, data, options });
    return super.enqueue(id, data, options);
  }
}

function setup(partitions = 1, store: StatusStore = new MemoryStatusStore(3600)) {
  const queues = Array.from({ length: partitions }, () => new RecordingQueue());
  const commit = new GroupCommit({ envelopes: queues, store, windowMs: 0, now: () => 1_000 });
  return { queues, commit, store };
}

describe('group commit at intake', () => {
  it('writes the notifications accepted in one turn as one envelope, then answers each as accepted with its record made', async () => {
    const { queues, commit, store } = setup();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => commit.commit(notification(`n-${i}`), plan)));
    assert.deepEqual(answers, Array.from({ length: 50 }, () => ({ status: 'accepted', created: true })));
    const [queue] = queues;
    assert.equal(queue?.added.length, 1, 'one queue write for all');
    assert.match(queue?.added[0]?.id ?? '', /^b:0:/);
    assert.equal(queue?.added[0]?.data.notifications.length, 50);
    const status = await store.get({ app: 'app-1', id: 'n-7' });
    assert.equal(status?.state, 'queued', 'the status answers before any worker ran');
  });

  it('answers a repeat of an id in the same turn, and of an id already known, as a duplicate', async () => {
    const { queues, commit } = setup();
    const [first, again] = await Promise.all([commit.commit(notification('same'), plan), commit.commit(notification('same'), plan)]);
    assert.deepEqual([first, again], [{ status: 'accepted', created: true }, { status: 'duplicate' }]);
    assert.equal(queues[0]?.added[0]?.data.notifications.length, 1, 'queued once');
    // Later: a client's retry reaches a second envelope, whose worker will find the record owned by the first.
    assert.deepEqual(await commit.commit(notification('same'), plan), { status: 'duplicate' });
  });

  it('sends a scheduled notification alone, delayed, as e:<app>:<id>; its repeat is the same job', async () => {
    const { queues, commit } = setup();
    const later = { ...plan, notBefore: 61_000, delayMs: 60_000 };
    assert.deepEqual(await commit.commit(notification('s-1', { sendAt: new Date(61_000).toISOString() }), later), { status: 'accepted', created: true });
    assert.deepEqual(queues[0]?.added.map((a) => [a.id, a.options.delayMs]), [['e:app-1:s-1', 60_000]]);
    assert.deepEqual(await commit.commit(notification('s-1', { sendAt: new Date(61_000).toISOString() }), later), { status: 'duplicate' });
    assert.equal(await queues[0]?.state('e:app-1:s-1'), 'delayed');
  });

  it('sends one with many tokens alone, so envelopes stay small', async () => {
    const { queues, commit } = setup();
    await Promise.all([commit.commit(notification('big'), { ...plan, tokens: 17 }), commit.commit(notification('small'), plan)]);
    assert.deepEqual(queues[0]?.added.map((a) => a.data.notifications.map((n) => n.id)).sort(), [['big'], ['small']]);
  });

  it('spreads notifications over the partitions by id, one envelope per partition', async () => {
    const { queues, commit } = setup(3);
    await Promise.all(Array.from({ length: 90 }, (_, i) => commit.commit(notification(`p-${i}`), plan)));
    assert.deepEqual(queues.map((q) => q.added.length), [1, 1, 1]);
    assert.equal(queues.reduce((sum, q) => sum + (q.added[0]?.data.notifications.length ?? 0), 0), 90);
    queues.forEach((q, partition) => assert.match(q.added[0]?.id ?? '', new RegExp(`^b:${partition}:`)));
  });

  it('holds what arrives while a write is under way, and writes it as one envelope when that write lands', async () => {
    const { queues, commit } = setup();
    const [queue] = queues;
    assert.ok(queue);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const enqueue = queue.enqueue.bind(queue);
    let writes = 0;
    queue.enqueue = async (id, data, options) => {
      writes += 1;
      if (writes === 1) await gate;
      return enqueue(id, data, options);
    };
    const first = Promise.all(Array.from({ length: 5 }, (_, i) => commit.commit(notification(`a-${i}`), plan)));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(writes, 1, 'the first turn is written at its end');
    // Later turns while that write is held: nothing more is written, the group grows.
    const later: Array<Promise<unknown>> = [];
    for (let turn = 0; turn < 4; turn++) {
      for (let i = 0; i < 3; i++) later.push(commit.commit(notification(`b-${turn}-${i}`), plan));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    assert.equal(writes, 1, 'no second write while the first is under way');
    open();
    await first;
    await Promise.all(later);
    assert.deepEqual(queue.added.map((a) => a.data.notifications.length), [5, 12], 'the held notifications went as one envelope');
  });

  it('fails every caller of a group whose queue write failed, and writes no record', async () => {
    const { queues, commit, store } = setup();
    const refused = new Error('queue down');
    if (queues[0]) queues[0].failNext = refused;
    const results = await Promise.allSettled([commit.commit(notification('f-1'), plan), commit.commit(notification('f-2'), plan), commit.commit(notification('f-1'), plan)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    assert.equal(await store.get({ app: 'app-1', id: 'f-1' }), undefined);
    // Sent again, it is queued: nothing remembers the failed attempt.
    assert.deepEqual(await commit.commit(notification('f-1'), plan), { status: 'accepted', created: true });
  });

  it('counts a record a worker made first for this very envelope as accepted, not made here', async () => {
    const store = new MemoryStatusStore(3600);
    const { commit, queues } = setup(1, store);
    // A worker runs the envelope as soon as it is queued, before the intake writes the records.
    const originalEnqueue = queues[0]?.enqueue.bind(queues[0]);
    if (queues[0] && originalEnqueue) {
      queues[0].enqueue = async (id, data, options) => {
        const result = await originalEnqueue(id, data, options);
        for (const n of data.notifications) await store.create({ app: n.app, id: n.id, createdAt: 1, tokens: 1, chunks: 1, active: true, owner: id });
        return result;
      };
    }
    assert.deepEqual(await commit.commit(notification('raced'), plan), { status: 'accepted', created: false });
  });
});

describe('envelope data read back from the queue', () => {
  it('takes valid notifications, fails invalid entries on their own with their index, and drops repeats', () => {
    const checked = parseEnvelope({ v: 1, notifications: [notification('a'), { v: 1, app: 'app-1', id: 'bad', apns: { tokens: ['xyz'], payload: {} } }, notification('a'), { app: 'app-1' }] });
    assert.ok(checked.ok);
    assert.deepEqual(checked.envelope.notifications.map((n) => n.id), ['a']);
    assert.deepEqual(checked.envelope.invalid?.map((e) => [e.index, e.ref?.id]), [[1, 'bad'], [3, undefined]]);
    assert.match(checked.envelope.invalid?.[0]?.error ?? '', /^notifications\[1\]\.apns\.tokens\[0\]: /);
  });

  it('refuses a frame that is not an envelope', () => {
    for (const data of [null, [], { v: 2, notifications: [notification('a')] }, { v: 1, notifications: [] }, { v: 1, notifications: [notification('a')], extra: 1 }, { v: 1, notifications: Array.from({ length: 1_001 }, (_, i) => notification(`x${i}`)) }]) {
      assert.equal(parseEnvelope(data).ok, false, JSON.stringify(data)?.slice(0, 80));
    }
  });
});
