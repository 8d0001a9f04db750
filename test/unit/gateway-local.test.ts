import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { EventBus } from '../../src/events.js';
import type { HeraldEvents } from '../../src/events.js';
import { LocalSockets } from '../../src/gateway/local-sockets.js';
import type { LocalSocket } from '../../src/gateway/local-sockets.js';
import { OccupancyEvents } from '../../src/gateway/occupancy-events.js';
import { SlidingWindowLimiter } from '../../src/gateway/rate-window.js';
import { SubscriptionCountThrottle } from '../../src/gateway/subscription-count.js';

class FakeSocket implements LocalSocket {
  readonly payloads: Array<{ channel: string; payload: Buffer }> = [];
  constructor(
    readonly socketId: string,
    readonly appId = 'app',
  ) {}
  deliver(channel: string, payload: Buffer): void {
    this.payloads.push({ channel, payload });
  }
}

describe('local fanout index', () => {
  it('encodes a frame once and writes the same Buffer to every subscriber but the excluded one', () => {
    const sockets = new LocalSockets<FakeSocket>();
    const subscribers = Array.from({ length: 5 }, (_, i) => new FakeSocket(`${i}.1`));
    const other = new FakeSocket('9.9', 'other-app');
    for (const s of [...subscribers, other]) {
      sockets.add(s);
      sockets.joinChannel(s, 'orders');
    }
    const delivered = sockets.deliver('app', 'orders', '{"event":"e"}', '2.1');
    assert.equal(delivered, 4);
    const received = subscribers.flatMap((s) => s.payloads.map((p) => p.payload));
    assert.equal(received.length, 4);
    assert.ok(received.every((payload) => payload === received[0]), 'one Buffer instance shared by all');
    assert.equal(received[0]?.toString(), '{"event":"e"}');
    assert.equal(subscribers[2]?.payloads.length, 0);
    assert.equal(other.payloads.length, 0);
    assert.equal(sockets.deliver('app', 'nobody-here', 'x'), 0);
  });

  it('reports the first and last local socket of a channel and of a presence user', () => {
    const sockets = new LocalSockets<FakeSocket>();
    const [a, b] = [new FakeSocket('1.1'), new FakeSocket('2.2')];
    assert.deepEqual(sockets.joinChannel(a, 'presence-x', 'u1'), { channel: { first: true, last: false }, user: { first: true, last: false } });
    assert.deepEqual(sockets.joinChannel(b, 'presence-x', 'u1'), { channel: { first: false, last: false }, user: { first: false, last: false } });
    assert.deepEqual(sockets.leaveChannel(a, 'presence-x', 'u1'), { channel: { first: false, last: false }, user: { first: false, last: false } });
    assert.deepEqual(sockets.leaveChannel(b, 'presence-x', 'u1'), { channel: { first: false, last: true }, user: { first: false, last: true } });
    assert.deepEqual(sockets.leaveChannel(b, 'presence-x', 'u1'), { channel: { first: false, last: false }, user: { first: false, last: false } });
  });

  it('keeps delivering exactly once per subscriber as a channel grows from one socket to several and back', () => {
    const sockets = new LocalSockets<FakeSocket>();
    const [a, b, c] = [new FakeSocket('1.1'), new FakeSocket('2.2'), new FakeSocket('3.3')];
    assert.deepEqual(sockets.joinChannel(a, 'c').channel, { first: true, last: false });
    assert.deepEqual(sockets.joinChannel(a, 'c').channel, { first: false, last: false }, 'a repeated join is one');
    assert.equal(sockets.deliver('app', 'c', 'one'), 1);
    assert.equal(sockets.deliver('app', 'c', 'none', '1.1'), 0);
    sockets.joinChannel(b, 'c');
    sockets.joinChannel(c, 'c');
    assert.equal(sockets.deliver('app', 'c', 'three'), 3);
    assert.deepEqual(sockets.leaveChannel(a, 'c').channel, { first: false, last: false });
    assert.deepEqual(sockets.leaveChannel(a, 'c').channel, { first: false, last: false }, 'leaving twice changes nothing');
    assert.deepEqual(sockets.leaveChannel(b, 'c').channel, { first: false, last: false });
    assert.equal(sockets.deliver('app', 'c', 'last'), 1);
    assert.deepEqual(sockets.leaveChannel(b, 'c').channel, { first: false, last: false }, 'a socket that left is not the remaining one');
    assert.deepEqual(sockets.leaveChannel(c, 'c').channel, { first: false, last: true });
    assert.equal(sockets.deliver('app', 'c', 'gone'), 0);
    assert.deepEqual(
      [a, b, c].map((s) => s.payloads.map((p) => p.payload.toString())),
      [['one', 'three'], ['three'], ['three', 'last']],
    );
  });

  it('finds the sockets signed in as a user', () => {
    const sockets = new LocalSockets<FakeSocket>();
    const [a, b, c] = [new FakeSocket('1.1'), new FakeSocket('2.2'), new FakeSocket('3.3')];
    sockets.rememberUser(a, 'u1');
    sockets.rememberUser(b, 'u1');
    sockets.rememberUser(c, 'u2');
    assert.deepEqual(sockets.userSockets('app', 'u1').map((s) => s.socketId), ['1.1', '2.2']);
    sockets.forgetUser(a, 'u1');
    assert.deepEqual(sockets.userSockets('app', 'u1').map((s) => s.socketId), ['2.2']);
  });
});

describe('sliding window limiter', () => {
  it('allows `limit` events in any window and refuses the next until the oldest ages out', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(10, 1000, () => now);
    for (let i = 0; i < 10; i += 1) {
      now = i * 10;
      assert.equal(limiter.tryTake(), true);
    }
    now = 999;
    assert.equal(limiter.tryTake(), false, 'the 11th within one second');
    now = 1000;
    assert.equal(limiter.tryTake(), true, 'the first event is a second old');
    assert.equal(limiter.tryTake(), false);
    assert.equal(new SlidingWindowLimiter(0, 1000).tryTake(), false);
  });
});

describe('occupancy events with a vacate delay', () => {
  function record(bus: EventBus): string[] {
    const seen: string[] = [];
    for (const name of ['channel.occupied', 'channel.vacated', 'member.added', 'member.removed'] as const) {
      bus.on(name, (e: HeraldEvents[typeof name]) => seen.push(`${name}:${e.channel}${'userId' in e ? `:${e.userId}` : ''}`));
    }
    return seen;
  }

  it('announces at once without a delay', () => {
    const bus = new EventBus();
    const seen = record(bus);
    const occupancy = new OccupancyEvents(bus, 0);
    occupancy.occupied({ app: 'a', channel: 'c' });
    occupancy.vacated({ app: 'a', channel: 'c' });
    assert.deepEqual(seen, ['channel.occupied:c', 'channel.vacated:c']);
  });

  it('drops a vacate/occupy pair inside the delay and announces a vacate that lasts', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const bus = new EventBus();
      const seen = record(bus);
      const occupancy = new OccupancyEvents(bus, 3000);
      const ref = { app: 'a', channel: 'presence-c' };
      occupancy.occupied(ref);
      occupancy.memberAdded(ref, 'u1');
      occupancy.memberRemoved(ref, 'u1');
      occupancy.vacated(ref);
      mock.timers.tick(2000);
      occupancy.occupied(ref);
      occupancy.memberAdded(ref, 'u1');
      mock.timers.tick(5000);
      assert.deepEqual(seen, ['channel.occupied:presence-c', 'member.added:presence-c:u1']);
      occupancy.memberRemoved(ref, 'u1');
      occupancy.vacated(ref);
      mock.timers.tick(3000);
      assert.deepEqual(seen.slice(2), ['member.removed:presence-c:u1', 'channel.vacated:presence-c']);
    } finally {
      mock.timers.reset();
    }
  });

  it('announces what is still held back when flushed', () => {
    const bus = new EventBus();
    const seen = record(bus);
    const occupancy = new OccupancyEvents(bus, 60_000);
    occupancy.vacated({ app: 'a', channel: 'c' });
    assert.deepEqual(seen, []);
    occupancy.flush();
    assert.deepEqual(seen, ['channel.vacated:c']);
  });
});

describe('subscription count throttle', () => {
  it('sends every change on small channels and at most one per interval on large ones, ending with the latest', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    let now = 0;
    try {
      const sent: number[] = [];
      const throttle = new SubscriptionCountThrottle((_ref, count) => sent.push(count), 30_000, () => now);
      const ref = { app: 'a', channel: 'c' };
      for (const count of [1, 2, 3]) throttle.changed(ref, count);
      assert.deepEqual(sent, [1, 2, 3]);
      throttle.changed(ref, 150);
      assert.deepEqual(sent, [1, 2, 3, 150], 'the first large count goes out at once');
      now = 1000;
      throttle.changed(ref, 151);
      throttle.changed(ref, 152);
      assert.deepEqual(sent.length, 4);
      now = 30_000;
      mock.timers.tick(29_000);
      assert.deepEqual(sent, [1, 2, 3, 150, 152]);
      throttle.stop();
    } finally {
      mock.timers.reset();
    }
  });
});
