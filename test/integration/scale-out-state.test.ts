import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { StateChange } from '../../src/gateway/state/channel-state.js';
import { RedisChannelState } from '../../src/gateway/state/redis/redis-channel-state.js';
import { silentLogger } from '../../src/log/logger.js';
import { RedisConnections } from '../../src/redis/redis-connections.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

interface Node {
  readonly state: RedisChannelState;
  readonly connections: RedisConnections;
  readonly changes: StateChange[];
}

// A live node is taken for dead after this much silence. All nodes here share one test
// process, so a pause of that process by a busy machine silences every one of them:
// the timeout must dwarf such pauses, and the tests wait on outcomes, not on time.
const TIMEOUT_SECONDS = 30;
/** Bounds on waits that include the node timeout (a reap; a restore that settles in 1–3 timeouts). */
const REAP_BOUND_MS = 3 * TIMEOUT_SECONDS * 1000 + 60_000;

describe('RedisChannelState across node failures and Redis trouble', () => {
  let redis: TestRedis;
  let admin: Redis;
  let keyPrefix: string;
  let nodes: Node[] = [];

  before(async () => {
    // Persistent, so a restart keeps the data and only a FLUSHALL loses it.
    redis = await startRedis({ persist: true });
    admin = new Redis(redis.url, { maxRetriesPerRequest: null });
  });

  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  afterEach(async () => {
    for (const node of nodes) {
      await node.state.stop(AbortSignal.timeout(3_000));
      await node.connections.stop(AbortSignal.timeout(2_000));
    }
    nodes = [];
  });

  async function startNode(url = redis.url): Promise<Node> {
    const log = silentLogger();
    const connections = new RedisConnections({ config: { url, mode: 'single', sentinels: [], clusterNodes: [], keyPrefix }, log });
    const state = new RedisChannelState({ client: connections.create('state'), keyPrefix, nodeId: `node-${randomUUID()}`, nodeTimeoutSeconds: TIMEOUT_SECONDS, log });
    const node = { state, connections, changes: [] as StateChange[] };
    state.onChange((change) => node.changes.push(change));
    await connections.start();
    await state.start();
    nodes.push(node);
    return node;
  }

  /** A node that dies without a word: its connection is cut and never comes back. */
  async function crash(node: Node): Promise<void> {
    await node.connections.stop(AbortSignal.timeout(1));
  }

  const room = (): { app: string; channel: string } => ({ app: `app-${randomUUID()}`, channel: 'presence-room' });

  it('lets exactly one of several survivors remove a dead node, announcing each membership that ends once', async () => {
    keyPrefix = `st-${randomUUID()}`;
    const [dead, ...survivors] = [await startNode(), await startNode(), await startNode(), await startNode()];
    const ref = room();
    await dead!.state.openConnection(ref.app, '1.1', -1);
    await dead!.state.join(ref, { socketId: '1.1', member: { userId: 'gone', userInfo: { n: 1 } } });
    await dead!.state.join(ref, { socketId: '1.2', member: { userId: 'shared', userInfo: {} } });
    await dead!.state.join({ app: ref.app, channel: 'only-dead' }, { socketId: '1.1' });
    await survivors[0]!.state.join(ref, { socketId: '2.1', member: { userId: 'shared', userInfo: {} } });
    await crash(dead!);

    // The reap announces each membership as it undoes it: wait for all three, not just the first count to drop.
    await waitFor(() => survivors.flatMap((node) => node.changes).length >= 3, { what: 'the dead node reaped', timeoutMs: REAP_BOUND_MS });
    assert.equal(await survivors[0]!.state.userCount(ref), 1);
    // The three survivors keep sweeping; a second reap would show up as extra changes.
    for (const node of survivors) await node.state.reapSilentNodes();
    const all = survivors.flatMap((node) => node.changes);
    assert.deepEqual(
      all.map((c) => [c.type, c.ref.channel, c.socketId, c.type === 'left' && c.result.lastForUser, c.type === 'left' && c.result.lastSocket]).sort(),
      [
        ['left', 'only-dead', '1.1', false, true],
        ['left', 'presence-room', '1.1', true, false],
        ['left', 'presence-room', '1.2', false, false],
      ],
    );
    assert.equal(survivors.filter((node) => node.changes.length > 0).length, 1, 'one survivor did all of it');
    assert.deepEqual((await survivors[1]!.state.members(ref)).map((m) => m.userId), ['shared']);
    assert.equal(await survivors[2]!.state.connectionCount(ref.app), 0);
    assert.deepEqual([...(await survivors[1]!.state.channels(ref.app)).keys()], ['presence-room']);
  });

  it('re-registers every holding when Redis loses its data, announcing none of it again', async () => {
    keyPrefix = `st-${randomUUID()}`;
    const [a, b] = [await startNode(), await startNode()];
    const ref = room();
    await a!.state.openConnection(ref.app, '1.1', 10);
    await a!.state.join(ref, { socketId: '1.1', member: { userId: 'u1', userInfo: 'first' } });
    await b!.state.join(ref, { socketId: '2.1', member: { userId: 'u2', userInfo: 'second' } });
    await b!.state.join({ app: ref.app, channel: 'lobby' }, { socketId: '2.1' });
    await admin.flushall();
    await waitFor(async () => (await a!.state.userCount(ref)) === 2 && (await a!.state.subscriptionCount({ app: ref.app, channel: 'lobby' })) === 1, {
      what: 'state rebuilt by both nodes',
      timeoutMs: 60_000,
    });
    assert.equal(await b!.state.connectionCount(ref.app), 1);
    assert.deepEqual(new Set((await b!.state.members(ref)).map((m) => m.userInfo)), new Set(['first', 'second']));
    // Both nodes re-synced: a late announcement would come from that run.
    await waitFor(async () => (await admin.hlen(`${keyPrefix}:nodes:synced`)) === 2 || a!.changes.length + b!.changes.length > 0, { what: 'both nodes synced the new data', timeoutMs: 60_000 });
    assert.deepEqual([...a!.changes, ...b!.changes], [], 'members and channels announced before the loss are not announced again');
  });

  it('announces once a departure Redis lost, after every node has written its holdings back', async (t) => {
    keyPrefix = `st-${randomUUID()}`;
    // Without persistence: a restart loses everything.
    const lossy = await startRedis();
    t.after(() => lossy.stop());
    const [a, b, c] = [await startNode(lossy.url), await startNode(lossy.url), await startNode(lossy.url)];
    const ref = room();
    await a!.state.join(ref, { socketId: '1.1', member: { userId: 'stays', userInfo: {} } });
    await b!.state.join(ref, { socketId: '2.1', member: { userId: 'shared', userInfo: {} } });
    await c!.state.join(ref, { socketId: '3.1', member: { userId: 'shared', userInfo: {} } });
    await c!.state.join(ref, { socketId: '3.2', member: { userId: 'leaves', userInfo: {} } });
    await lossy.kill();
    await assert.rejects(c!.state.leave(ref, '3.1'), 'the leave of a user still on B cannot reach Redis');
    await assert.rejects(c!.state.leave(ref, '3.2'), 'the leave cannot reach Redis');
    await lossy.restart();
    await waitFor(() => [a, b, c].flatMap((n) => n!.changes).length >= 2, { what: 'both departures applied', timeoutMs: REAP_BOUND_MS });
    const all = [a, b, c].flatMap((n) => n!.changes);
    assert.deepEqual(
      all.map((change) => [change.type, change.socketId, change.type === 'left' && change.result.lastForUser]).sort(),
      [['left', '3.1', false], ['left', '3.2', true]],
      'one member_removed (leaves), none for shared (still on B), nothing joins again',
    );
    assert.equal(c!.changes.length, 2, 'from the node whose sockets left');
    assert.deepEqual((await a!.state.members(ref)).map((m) => m.userId).sort(), ['shared', 'stays']);
    assert.equal(await b!.state.subscriptionCount(ref), 2);
    for (const node of [a, b, c]) await node!.state.requestResync();
    assert.equal([a, b, c].flatMap((n) => n!.changes).length, 2, 'a later re-sync announces nothing more');
  });

  it('fails at once while Redis is down, and repairs a leave it missed when Redis returns', async () => {
    keyPrefix = `st-${randomUUID()}`;
    const [a, b] = [await startNode(), await startNode()];
    const ref = room();
    await a!.state.join(ref, { socketId: '1.1', member: { userId: 'stays', userInfo: {} } });
    await a!.state.join(ref, { socketId: '1.2', member: { userId: 'leaves', userInfo: {} } });
    await redis.kill();
    await assert.rejects(a!.state.join(ref, { socketId: '1.3', member: { userId: 'late', userInfo: {} } }));
    await assert.rejects(a!.state.leave(ref, '1.2'), 'the leave cannot reach Redis');
    await redis.restart();
    await waitFor(async () => (await b!.state.members(ref).catch(() => [])).length === 1, { what: 'the missed leave applied', timeoutMs: 60_000 });
    assert.deepEqual((await b!.state.members(ref)).map((m) => m.userId), ['stays']);
    const left = a!.changes.filter((c) => c.type === 'left');
    assert.deepEqual(left.map((c) => [c.socketId, c.type === 'left' && c.result.lastForUser]), [['1.2', true]], 'member_removed for the missed leave, from its own node');
    assert.equal(b!.changes.length, 0, 'nobody took the node for dead');
  });
});
