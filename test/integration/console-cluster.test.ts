import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { connected, pusherClient, serverSdk, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

// In Redis mode the console shows the cluster: a viewer on node A sees what happens on node B.

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret-123' };
const TOKEN = 'console-token-for-the-cluster-test';

interface SseEvent {
  kind: string;
  data: { type?: string; node?: string; detail?: Record<string, unknown> };
}

/** Reads the console's Server-Sent Events stream with plain fetch, as any client could. */
async function openStream(node: HeraldProcess, signal: AbortSignal): Promise<SseEvent[]> {
  const response = await fetch(`${node.baseUrl}/console/api/stream?app=${APP.id}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: SseEvent[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (kind && data) events.push({ kind, data: JSON.parse(data) as SseEvent['data'] });
        }
      }
    } catch {
      // Aborted at the end of the test.
    }
  })();
  return events;
}

describe('debug console across two daemons on one Redis', () => {
  let redis: TestRedis;
  let nodes: HeraldProcess[] = [];
  const clients: PusherClient[] = [];
  const streams = new AbortController();

  before(async () => {
    redis = await startRedis();
    const config = { redis: { url: redis.url, keyPrefix: 'cc' }, apps: [APP], console: { enabled: true, token: TOKEN } };
    nodes = await Promise.all([startHeraldProcess({ config }), startHeraldProcess({ config })]);
  });

  after(async () => {
    streams.abort();
    for (const client of clients) client.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  });

  it("shows node B's connection and a publish made on node B to a viewer on node A", async () => {
    const [a, b] = nodes as [HeraldProcess, HeraldProcess];
    const seen = await openStream(a, streams.signal);
    await waitFor(() => seen.some((e) => e.kind === 'hello'), { what: 'the stream to open' });

    const client = pusherClient(b.httpPort, APP);
    clients.push(client);
    const socketId = await connected(client);
    await subscribe(client, 'news');
    const opened = await waitFor(() => seen.find((e) => e.data.type === 'connection.opened' && e.data.detail?.socketId === socketId), {
      what: "node B's connection.opened on node A's stream",
    });
    assert.notEqual(opened.data.node, undefined);
    await waitFor(() => seen.some((e) => e.data.type === 'subscribed' && e.data.detail?.socketId === socketId), { what: "node B's subscription" });

    const sdk = serverSdk(b.httpPort, APP);
    await sdk.trigger('news', 'breaking', { headline: 'made on node B' });
    await sdk.trigger('news', 'marker', { headline: 'after it' });
    await waitFor(() => seen.some((e) => e.data.type === 'publish' && e.data.detail?.event === 'marker'), { what: 'the marker publish on node A' });
    const publishes = seen.filter((e) => e.data.type === 'publish' && e.data.detail?.event === 'breaking');
    assert.equal(publishes.length, 1, 'the publish is shown once, not once per node');
    assert.match(String(publishes[0]?.data.detail?.data), /made on node B/);
  });

  it("shows the user id once node B's socket signs in", async () => {
    const [a, b] = nodes as [HeraldProcess, HeraldProcess];
    const seen = await openStream(a, streams.signal);
    const client = pusherClient(b.httpPort, APP, { user: { id: 'user-42', user_info: { name: 'Ada' } } });
    clients.push(client);
    const socketId = await connected(client);
    client.signin();
    const event = await waitFor(() => seen.find((e) => e.data.type === 'user.signed_in' && e.data.detail?.socketId === socketId), {
      what: "node B's sign-in on node A's stream",
    });
    assert.deepEqual(event.data.detail, { socketId, userId: 'user-42' }, 'the user id, not user_info');
  });
});
