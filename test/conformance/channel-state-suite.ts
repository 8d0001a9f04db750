import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { ChannelState, JoinResult } from '../../src/gateway/state/channel-state.js';

/** How a test file hands a ChannelState implementation to the suite. */
export interface ChannelStateTarget {
  readonly name: string;
  /**
   * `count` started handles on one shared state, as `count` nodes would hold them.
   * An implementation without sharing (memory) returns the same instance each time.
   */
  createNodes(count: number): Promise<ChannelState[]>;
  /** Stops what createNodes made and frees its storage. Called after every test. */
  cleanup(): Promise<void>;
}

function joined(result: JoinResult): Extract<JoinResult, { type: 'joined' }> {
  assert.equal(result.type, 'joined');
  return result as Extract<JoinResult, { type: 'joined' }>;
}

/** Fresh app id per test: implementations with shared storage never see another test's keys. */
const freshApp = (): string => `app-${randomUUID()}`;

/** The contract every ChannelState (memory, Redis, …) must keep; run it once per implementation. */
export function channelStateConformance(target: ChannelStateTarget): void {
  describe(`ChannelState conformance: ${target.name}`, () => {
    afterEach(async () => {
      await target.cleanup();
    });

    it('reports the first and last socket of a channel across nodes', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const ref = { app: freshApp(), channel: 'orders' };
      const first = joined(await a.join(ref, { socketId: '1.1' }));
      assert.equal(first.firstSocket, true);
      assert.equal(first.subscriptionCount, 1);
      const second = joined(await b.join(ref, { socketId: '2.2' }));
      assert.equal(second.firstSocket, false);
      assert.equal(second.subscriptionCount, 2);
      assert.equal(await a.subscriptionCount(ref), 2);
      const leaveOne = await a.leave(ref, '1.1');
      assert.deepEqual([leaveOne.left, leaveOne.lastSocket, leaveOne.subscriptionCount], [true, false, 1]);
      const leaveTwo = await b.leave(ref, '2.2');
      assert.deepEqual([leaveTwo.left, leaveTwo.lastSocket, leaveTwo.subscriptionCount], [true, true, 0]);
      assert.equal(await b.subscriptionCount(ref), 0);
    });

    it('treats a repeated join as one and a leave of an absent socket as nothing', async () => {
      const [state] = await target.createNodes(1);
      assert.ok(state);
      const ref = { app: freshApp(), channel: 'orders' };
      joined(await state.join(ref, { socketId: '1.1' }));
      const again = joined(await state.join(ref, { socketId: '1.1' }));
      assert.equal(again.firstSocket, false);
      assert.equal(again.subscriptionCount, 1);
      const absent = await state.leave(ref, '9.9');
      assert.deepEqual([absent.left, absent.lastSocket, absent.lastForUser], [false, false, false]);
      assert.equal((await state.leave(ref, '1.1')).lastSocket, true);
      assert.equal((await state.leave(ref, '1.1')).left, false);
    });

    it('counts a presence user once however many sockets and nodes it joins from', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const ref = { app: freshApp(), channel: 'presence-room' };
      const member = { userId: 'u1', userInfo: { name: 'Ann' } };
      const first = joined(await a.join(ref, { socketId: '1.1', member }));
      assert.deepEqual([first.firstSocket, first.firstForUser], [true, true]);
      const second = joined(await b.join(ref, { socketId: '2.2', member: { userId: 'u1', userInfo: { name: 'changed' } } }));
      assert.deepEqual([second.firstSocket, second.firstForUser, second.subscriptionCount], [false, false, 2]);
      assert.deepEqual(second.members, [member], 'the first socket\'s user_info is kept');
      assert.equal(await a.userCount(ref), 1);
      const leaveOne = await a.leave(ref, '1.1');
      assert.deepEqual([leaveOne.left, leaveOne.lastForUser], [true, false]);
      assert.deepEqual(leaveOne.member, member);
      const leaveTwo = await b.leave(ref, '2.2');
      assert.deepEqual([leaveTwo.lastForUser, leaveTwo.lastSocket], [true, true]);
      assert.deepEqual(leaveTwo.member, member);
      assert.deepEqual(await a.members(ref), []);
    });

    it('lists presence members in join order, the joiner included, with user_info intact', async () => {
      const [state] = await target.createNodes(1);
      assert.ok(state);
      const ref = { app: freshApp(), channel: 'presence-room' };
      const info = { name: 'Zoë 👋', tags: ['a', 'b'], nested: { n: 1.5, t: true, none: null }, text: 'line\n"q"' };
      joined(await state.join(ref, { socketId: '1.1', member: { userId: '10', userInfo: info } }));
      joined(await state.join(ref, { socketId: '2.2', member: { userId: '11', userInfo: {} } }));
      const third = joined(await state.join(ref, { socketId: '3.3', member: { userId: '9', userInfo: 'plain' } }));
      assert.deepEqual(third.members?.map((m) => m.userId), ['10', '11', '9']);
      assert.deepEqual(third.members?.[0]?.userInfo, info);
      assert.deepEqual((await state.members(ref)).map((m) => m.userInfo), [info, {}, 'plain']);
      assert.equal(await state.userCount(ref), 3);
    });

    it('refuses a new user beyond maxMembers but lets a present user add sockets', async () => {
      const [state] = await target.createNodes(1);
      assert.ok(state);
      const ref = { app: freshApp(), channel: 'presence-small' };
      for (let i = 0; i < 3; i += 1) {
        joined(await state.join(ref, { socketId: `${i}.0`, member: { userId: `u${i}`, userInfo: {} }, maxMembers: 3 }));
      }
      const refused = await state.join(ref, { socketId: '9.9', member: { userId: 'u9', userInfo: {} }, maxMembers: 3 });
      assert.deepEqual(refused, { type: 'full', memberCount: 3 });
      assert.equal(await state.subscriptionCount(ref), 3, 'a refused join is not counted');
      const sameUser = joined(await state.join(ref, { socketId: '0.1', member: { userId: 'u0', userInfo: {} }, maxMembers: 3 }));
      assert.equal(sameUser.firstForUser, false);
      assert.equal(await state.userCount(ref), 3);
    });

    it('lists only occupied channels, filtered by prefix, per app', async () => {
      const [state] = await target.createNodes(1);
      assert.ok(state);
      const app = freshApp();
      const other = freshApp();
      await state.join({ app, channel: 'orders' }, { socketId: '1.1' });
      await state.join({ app, channel: 'orders' }, { socketId: '2.2' });
      await state.join({ app, channel: 'presence-room' }, { socketId: '1.1', member: { userId: 'u1', userInfo: {} } });
      await state.join({ app, channel: 'presence-room' }, { socketId: '2.2', member: { userId: 'u1', userInfo: {} } });
      await state.join({ app, channel: 'gone' }, { socketId: '1.1' });
      await state.leave({ app, channel: 'gone' }, '1.1');
      await state.join({ app: other, channel: 'elsewhere' }, { socketId: '3.3' });
      assert.deepEqual(
        new Map([...(await state.channels(app))].sort(([x], [y]) => x.localeCompare(y))),
        new Map([
          ['orders', { subscriptionCount: 2 }],
          ['presence-room', { subscriptionCount: 2, userCount: 1 }],
        ]),
      );
      assert.deepEqual([...(await state.channels(app, 'presence-')).keys()], ['presence-room']);
      assert.deepEqual([...(await state.channels(app, 'nothing-')).keys()], []);
    });

    it('admits connections up to the app limit, frees a slot on close, and -1 means unlimited', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const app = freshApp();
      assert.deepEqual(await a.openConnection(app, '1.1', 2), { accepted: true, count: 1 });
      assert.deepEqual(await b.openConnection(app, '2.2', 2), { accepted: true, count: 2 });
      assert.deepEqual(await a.openConnection(app, '3.3', 2), { accepted: false, count: 2 });
      assert.deepEqual(await a.openConnection(app, '1.1', 2), { accepted: true, count: 2 }, 'a counted socket is not counted twice');
      await b.closeConnection(app, '2.2');
      assert.equal(await a.connectionCount(app), 1);
      assert.deepEqual(await a.openConnection(app, '3.3', 2), { accepted: true, count: 2 });
      const unlimited = freshApp();
      for (let i = 0; i < 20; i += 1) assert.equal((await a.openConnection(unlimited, `${i}.1`, -1)).accepted, true);
      assert.equal(await b.connectionCount(unlimited), 20);
    });

    it('stays exact under concurrent joins and leaves from several nodes', async () => {
      const nodes = await target.createNodes(3);
      const ref = { app: freshApp(), channel: 'busy' };
      const sockets = Array.from({ length: 60 }, (_, i) => `${i}.7`);
      const joins = await Promise.all(sockets.map((id, i) => nodes[i % nodes.length]!.join(ref, { socketId: id })));
      assert.equal(joins.filter((r) => joined(r).firstSocket).length, 1);
      assert.equal(await nodes[0]!.subscriptionCount(ref), 60);
      const leaves = await Promise.all(sockets.map((id, i) => nodes[(i + 1) % nodes.length]!.leave(ref, id)));
      assert.equal(leaves.filter((r) => r.lastSocket).length, 1);
      assert.equal(await nodes[2]!.subscriptionCount(ref), 0);
    });

    it('announces a concurrent multi-socket user once, and enforces maxMembers under races', async () => {
      const nodes = await target.createNodes(2);
      const ref = { app: freshApp(), channel: 'presence-race' };
      const sameUser = await Promise.all(
        Array.from({ length: 10 }, (_, i) => nodes[i % 2]!.join(ref, { socketId: `${i}.1`, member: { userId: 'same', userInfo: {} } })),
      );
      assert.equal(sameUser.filter((r) => joined(r).firstForUser).length, 1);
      const leaves = await Promise.all(Array.from({ length: 10 }, (_, i) => nodes[(i + 1) % 2]!.leave(ref, `${i}.1`)));
      assert.equal(leaves.filter((r) => r.lastForUser).length, 1);

      const crowded = { app: ref.app, channel: 'presence-crowded' };
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => nodes[i % 2]!.join(crowded, { socketId: `${i}.2`, member: { userId: `u${i}`, userInfo: {} }, maxMembers: 5 })),
      );
      assert.equal(results.filter((r) => r.type === 'joined').length, 5);
      assert.equal(await nodes[0]!.userCount(crowded), 5);
    });
  });
}
