import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { OccupancyCoalescer } from '../../src/webhooks/occupancy-coalescer.js';
import type { OccupancyEvent } from '../../src/webhooks/occupancy-coalescer.js';

function harness(maxPerSecond: number) {
  const sent: Array<{ app: string; event: OccupancyEvent }> = [];
  const counts = { coalesced: 0, deferred: 0 };
  const coalescer = new OccupancyCoalescer({
    windowMs: 1000,
    maxPerSecond,
    emit: (app, event) => sent.push({ app, event }),
    onCoalesced: (_app, n) => (counts.coalesced += n),
    onDeferred: (_app, n) => (counts.deferred += n),
  });
  return { sent, counts, coalescer };
}

const occupied = (channel: string): OccupancyEvent => ({ name: 'channel_occupied', channel });
const vacated = (channel: string): OccupancyEvent => ({ name: 'channel_vacated', channel });

describe('occupancy webhook coalescing', () => {
  it('sends only the net change of a window: opposites cancel, repeats count once, members apart from channels', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { sent, counts, coalescer } = harness(1000);
      for (let i = 0; i < 100; i++) {
        coalescer.add('a', occupied('flap'));
        coalescer.add('a', vacated('flap'));
      }
      coalescer.add('a', occupied('stays'));
      coalescer.add('a', { name: 'member_added', channel: 'presence-x', user_id: 'u1' });
      coalescer.add('a', { name: 'member_added', channel: 'presence-x', user_id: 'u1' });
      coalescer.add('b', vacated('other-app'));
      assert.equal(sent.length, 0, 'nothing before the window closes');
      mock.timers.tick(1000);
      assert.deepEqual(sent, [
        { app: 'a', event: occupied('stays') },
        { app: 'a', event: { name: 'member_added', channel: 'presence-x', user_id: 'u1' } },
        { app: 'b', event: vacated('other-app') },
      ]);
      assert.deepEqual(counts, { coalesced: 201, deferred: 0 });
    } finally {
      mock.timers.reset();
    }
  });

  it('over the per-app rate, holds the rest for later windows, oldest first, still cancelling; flush lets all out', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { sent, counts, coalescer } = harness(2);
      for (const c of ['c1', 'c2', 'c3', 'c4', 'c5']) coalescer.add('a', occupied(c));
      mock.timers.tick(1000);
      assert.deepEqual(sent.map((s) => s.event.channel), ['c1', 'c2']);
      assert.equal(counts.deferred, 3);
      coalescer.add('a', vacated('c3'));
      mock.timers.tick(1000);
      assert.deepEqual(sent.map((s) => s.event.channel), ['c1', 'c2', 'c4', 'c5'], 'c3 came and went while held');
      coalescer.add('a', vacated('c1'));
      coalescer.add('a', vacated('c2'));
      coalescer.add('a', vacated('c4'));
      coalescer.flush();
      assert.deepEqual(sent.slice(4).map((s) => `${s.event.name} ${s.event.channel}`), ['channel_vacated c1', 'channel_vacated c2', 'channel_vacated c4']);
      mock.timers.tick(5000);
      assert.equal(sent.length, 7, 'nothing after a flush');
    } finally {
      mock.timers.reset();
    }
  });
});
