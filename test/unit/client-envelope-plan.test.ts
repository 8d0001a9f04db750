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

  it('groups by partition and send time; a past sendAt counts as due', () => {
    const now = Date.now();
    const due = entries(300);
    const past = entries(10, { sendAt: new Date(now - 1_000).toISOString() }).map((e) => ({ ...e, index: e.index + 300, notification: { ...e.notification, id: `p-${e.index}` } }));
    const later = entries(10, { sendAt: new Date(now + 60_000).toISOString() }).map((e) => ({ ...e, index: e.index + 310, notification: { ...e.notification, id: `l-${e.index}` } }));
    const planned = planEnvelopes([...due, ...past, ...later], { partitions: 4, now });
    for (const envelope of planned) {
      for (const e of envelope.entries) assert.equal(partitionOf(e.notification, 4), envelope.partition);
      const scheduled = envelope.entries.every((e) => e.notification.id.startsWith('l-'));
      assert.equal(envelope.delayMs, scheduled ? 60_000 : 0);
      assert.ok(scheduled || envelope.entries.every((e) => !e.notification.id.startsWith('l-')));
    }
    assert.equal(planned.filter((e) => e.delayMs === 0).length, 4, 'one due envelope per partition, the past sendAt among them');
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
