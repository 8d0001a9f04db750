import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ENVELOPE_BYTES, planEnvelopes } from '../../src/client/envelope-plan.js';
import type { CheckedEntry } from '../../src/client/check-many.js';
import { mapLimit } from '../../src/client/map-limit.js';
import { partitionOf } from '../../src/notifications/contract/partitions.js';

function entries(count: number, options: { bytes?: number; sendAt?: string } = {}): CheckedEntry[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    notification: { v: 1, app: 'shop', id: `n-${index}`, realtime: { channels: ['c'], event: 'e', data: 'x'.repeat(options.bytes ?? 1) }, ...(options.sendAt ? { sendAt: options.sendAt } : {}) },
  }));
}

describe('sendMany envelope plan', () => {
  it('keeps every envelope within the byte bound, and a notification larger than it alone', () => {
    const planned = planEnvelopes(entries(50, { bytes: 1_000 }), { partitions: 1, now: Date.now(), maxBytes: 10_000 });
    for (const envelope of planned) {
      const size = envelope.entries.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e.notification)) + 1, 0);
      assert.ok(size <= 10_000, `envelope of ${size} bytes`);
    }
    assert.equal(planned.flatMap((e) => e.entries).length, 50);
    assert.ok(planned.length >= 5);
    const huge = planEnvelopes(entries(2, { bytes: 20_000 }), { partitions: 1, now: Date.now(), maxBytes: 10_000 });
    assert.deepEqual(huge.map((e) => e.entries.length), [1, 1]);
    assert.equal(MAX_ENVELOPE_BYTES, 4 * 1024 * 1024);
  });

  it('groups by partition; a future sendAt or more than 16 tokens travels alone as e:<app>:<id>; a past sendAt counts as due', () => {
    const now = Date.now();
    const renamed = (list: CheckedEntry[], prefix: string, offset: number): CheckedEntry[] => list.map((e) => ({ index: e.index + offset, notification: { ...e.notification, id: `${prefix}-${e.index}` } }));
    const due = entries(300);
    const past = renamed(entries(10, { sendAt: new Date(now - 1_000).toISOString() }), 'p', 300);
    const later = renamed(entries(10, { sendAt: new Date(now + 60_000).toISOString() }), 'l', 310);
    const wide: CheckedEntry = { index: 320, notification: { v: 1, app: 'shop', id: 'wide', apns: { tokens: Array.from({ length: 17 }, (_, i) => i.toString(16).padStart(64, '0')), payload: {} } } };
    const planned = planEnvelopes([...due, ...past, ...later, wide], { partitions: 4, now });
    for (const envelope of planned) {
      for (const e of envelope.entries) assert.equal(partitionOf(e.notification, 4), envelope.partition);
    }
    const alone = planned.filter((e) => e.jobId !== undefined);
    assert.deepEqual(alone.map((e) => e.jobId).sort(), ['e:shop:wide', ...later.map((e) => `e:shop:${e.notification.id}`)].sort());
    for (const envelope of alone) {
      assert.equal(envelope.entries.length, 1);
      assert.equal(envelope.delayMs, envelope.jobId === 'e:shop:wide' ? 0 : 60_000);
    }
    const sharedEnvelopes = planned.filter((e) => e.jobId === undefined);
    assert.equal(sharedEnvelopes.length, 4, 'one shared envelope per partition, the past sendAt among them');
    assert.ok(sharedEnvelopes.every((e) => e.delayMs === 0));
    assert.equal(sharedEnvelopes.reduce((sum, e) => sum + e.entries.length, 0), 310);
  });
});

describe('mapLimit', () => {
  it('keeps at most `limit` in flight, and after a failure starts nothing new but awaits what runs', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const finished: number[] = [];
    const failure = mapLimit(Array.from({ length: 40 }, (_, i) => i), 4, async (i) => {
      started.push(i);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running -= 1;
      finished.push(i);
      if (i === 9) throw new Error('nine');
    });
    await assert.rejects(failure, /nine/);
    assert.equal(peak, 4);
    assert.equal(running, 0, 'nothing still runs when the failure is thrown');
    assert.ok(started.length < 40, `stopped starting (${started.length})`);
    assert.deepEqual([...finished].sort((a, b) => a - b), [...started].sort((a, b) => a - b));
  });
});
