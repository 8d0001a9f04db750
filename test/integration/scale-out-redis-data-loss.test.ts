import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type Pusher from 'pusher';
import type { Channel, PresenceChannel } from 'pusher-js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { collect, connected, holdsFor, metricValue, pusherClient, serverSdk, subscribe } from '../helpers/pusher-clients.js';
import type { ClientIdentity, PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

const app = { id: 'loss-app', key: 'loss-key', secret: 'loss-secret-0001' };
const NODE_TIMEOUT_SECONDS = 3;
/** Re-sync, the settle wait (one node timeout) and slack for a loaded machine. */
const CONVERGE_MS = NODE_TIMEOUT_SECONDS * 1000 + 15_000;
const ROOM = 'presence-room';

interface Watcher {
  readonly channel: Channel;
  readonly added: Array<{ data: { id: string } }>;
  readonly removed: Array<{ data: { id: string } }>;
}

/**
 * Three Herald processes on one Redis that loses everything: a restart without
 * persistence, then a FLUSHALL (a failover to an empty replica). Members who left
 * meanwhile must be announced gone once; members already announced must not be
 * announced again; every node must answer the same members.
 */
describe('scale-out: presence converges after Redis loses its data', () => {
  let redis: TestRedis;
  let admin: Redis;
  let hooks: WebhookReceiver;
  const nodes: Record<string, HeraldProcess> = {};
  const clients: PusherClient[] = [];
  const watchers: Record<string, Watcher> = {};

  function startNode(): Promise<HeraldProcess> {
    return startHeraldProcess({
      config: {
        redis: { url: redis.url },
        gateway: { nodeTimeoutSeconds: NODE_TIMEOUT_SECONDS },
        webhooks: { batchMs: 20, backoffBaseMs: 100, backoffMaxMs: 500 },
        apps: [{ ...app, webhooks: [{ url: hooks.url, events: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] }] }],
      },
    });
  }

  const sdk = (node: string): Pusher => serverSdk(nodes[node]!.httpPort, app);

  async function client(node: string, identity: ClientIdentity = {}): Promise<PusherClient> {
    const c = pusherClient(nodes[node]!.httpPort, app, identity);
    clients.push(c);
    await connected(c);
    return c;
  }

  async function join(node: string, userId: string): Promise<{ client: PusherClient; watcher: Watcher }> {
    const c = await client(node, { presence: { user_id: userId, user_info: { name: userId } } });
    let added: Watcher['added'] = [];
    let removed: Watcher['removed'] = [];
    const { channel } = await subscribe(c, ROOM, {
      beforeAnswer: (ch) => {
        added = collect<{ id: string }>(ch, 'pusher:member_added');
        removed = collect<{ id: string }>(ch, 'pusher:member_removed');
      },
    });
    return { client: c, watcher: { channel, added, removed } };
  }

  async function usersOn(node: string): Promise<string[]> {
    const response = await sdk(node).get({ path: `/channels/${ROOM}/users` });
    assert.equal(response.status, 200, `users on ${node}`);
    return ((await response.json()) as { users: Array<{ id: string }> }).users.map((u) => u.id).sort();
  }

  const hooksOf = (name: string, userId?: string): Array<Record<string, unknown>> =>
    acceptedEvents(hooks).filter((e) => e.name === name && e.channel === ROOM && (userId === undefined || e.user_id === userId));

  /** Everything announced so far, to compare with what is announced later. */
  function announcements(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const name of ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed']) counts[`hook ${name}`] = hooksOf(name).length;
    for (const [user, w] of Object.entries(watchers)) {
      counts[`${user} saw added`] = w.added.length;
      counts[`${user} saw removed`] = w.removed.length;
    }
    return counts;
  }

  async function allReady(): Promise<void> {
    for (const node of Object.keys(nodes)) {
      await waitFor(async () => (await fetch(`${nodes[node]!.baseUrl}/ready`)).status === 200, { what: `${node} ready`, timeoutMs: 15_000 });
    }
  }

  /**
   * After the loss: the departed member is announced gone once, to every remaining
   * subscriber and by webhook; nothing else is announced; every node agrees.
   */
  async function expectConverged(before: Record<string, number>, departed: string, remaining: string[]): Promise<void> {
    for (const [user, w] of Object.entries(watchers)) {
      await waitFor(() => w.removed.some((e) => e.data.id === departed), { what: `member_removed ${departed} seen by ${user}`, timeoutMs: CONVERGE_MS });
    }
    await waitFor(() => hooksOf('member_removed', departed).length > 0, { what: `member_removed webhook for ${departed}`, timeoutMs: CONVERGE_MS });
    const expected: Record<string, number> = { ...before, 'hook member_removed': before['hook member_removed']! + 1 };
    for (const user of Object.keys(watchers)) expected[`${user} saw removed`] = before[`${user} saw removed`]! + 1;
    // Every node sweeps and re-checks each interval: a repeat would show within a timeout.
    await holdsFor(NODE_TIMEOUT_SECONDS * 1000, () => JSON.stringify(announcements()) === JSON.stringify(expected), 'nothing announced but the one departure');
    assert.deepEqual(announcements(), expected);
    for (const node of Object.keys(nodes)) assert.deepEqual(await usersOn(node), remaining, `members on ${node}`);
    for (const [user, w] of Object.entries(watchers)) {
      assert.deepEqual(Object.keys((w.channel as PresenceChannel).members.members).sort(), remaining, `the member list ${user} holds`);
    }
  }

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: null, lazyConnect: true });
    hooks = await startWebhookReceiver();
    [nodes.A, nodes.B, nodes.C] = await Promise.all([startNode(), startNode(), startNode()]);
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    admin?.disconnect();
    await Promise.all(Object.values(nodes).map((node) => node.stop('SIGTERM')));
    await hooks?.close();
    await redis?.stop();
  });

  it('announces a member who left while Redis restarted empty once, and nothing already known again', async () => {
    watchers.u1 = (await join('A', 'u1')).watcher;
    watchers.u2 = (await join('B', 'u2')).watcher;
    const leaver = (await join('C', 'u3')).client;
    watchers.u4 = (await join('C', 'u4')).watcher;
    await waitFor(() => hooksOf('member_added').length === 4, { what: 'four member_added webhooks' });
    await waitFor(() => Object.values(watchers).every((w) => (w.channel as PresenceChannel).members.count === 4), { what: 'four members seen everywhere' });
    const before = announcements();
    assert.equal(before['hook channel_occupied'], 1);

    await redis.kill();
    for (const node of Object.keys(nodes)) {
      await waitFor(async () => (await fetch(`${nodes[node]!.baseUrl}/ready`)).status === 503, { what: `${node} not ready while Redis is down` });
    }
    const open = await metricValue(nodes.C!.metricsPort, 'herald_ws_connections', { app: app.id });
    leaver.disconnect();
    await waitFor(async () => (await metricValue(nodes.C!.metricsPort, 'herald_ws_connections', { app: app.id })) === open - 1, { what: 'u3 gone from node C' });
    await redis.restart();
    await allReady();

    await expectConverged(before, 'u3', ['u1', 'u2', 'u4']);
  });

  it('announces a member who left just after a FLUSHALL (failover to an empty replica) once, and nothing already known again', async () => {
    const leaver = (await join('A', 'u5')).client;
    await waitFor(() => Object.values(watchers).every((w) => (w.channel as PresenceChannel).members.count === 4), { what: 'u5 seen everywhere' });
    await waitFor(() => hooksOf('member_added', 'u5').length === 1, { what: 'member_added webhook for u5' });
    const before = announcements();

    await admin.connect();
    await admin.flushall();
    leaver.disconnect();
    await expectConverged(before, 'u5', ['u1', 'u2', 'u4']);
  });
});
