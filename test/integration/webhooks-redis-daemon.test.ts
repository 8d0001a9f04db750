import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { connected, pusherClient, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

const occupancyApp = { id: 'app-occupancy', key: 'key-occupancy', secret: 'secret-occupancy-1' };
const flakyApp = { id: 'app-flaky', key: 'key-flaky', secret: 'secret-flaky-0001' };
const QUEUE_PREFIX = 'wq';

describe('webhooks through two daemons sharing Redis', () => {
  let redis: TestRedis;
  let connection: Redis;
  let nodes: HeraldProcess[] = [];
  let occupancy: WebhookReceiver;
  let flaky: WebhookReceiver;
  let configFile: string;
  const clients: PusherClient[] = [];

  before(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url);
    occupancy = await startWebhookReceiver();
    flaky = await startWebhookReceiver();
    flaky.setMode({ type: 'status', status: 500 });
    const config = {
      redis: { url: redis.url, keyPrefix: 'wk' },
      queue: { prefix: QUEUE_PREFIX },
      // Occupancy is sent as it happens (no coalescing window): the test counts an occupied → vacated pair.
      webhooks: { batchMs: 10, maxAttempts: 2, backoffBaseMs: 10, backoffMaxMs: 20, occupancyWindowMs: 0 },
      apps: [
        { ...occupancyApp, webhooks: [{ url: occupancy.url, events: ['channel_occupied', 'channel_vacated'] }] },
        { ...flakyApp, webhooks: [{ url: flaky.url, events: ['channel_occupied'] }] },
      ],
    };
    nodes = await Promise.all([startHeraldProcess({ config }), startHeraldProcess({ config })]);
    const dir = mkdtempSync(join(tmpdir(), 'herald-dead-letters-'));
    configFile = join(dir, 'herald.yaml');
    writeFileSync(configFile, stringify(config));
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    connection.disconnect();
    await occupancy.close();
    await flaky.close();
    await redis.stop();
  });

  function client(node: HeraldProcess, app: typeof occupancyApp): PusherClient {
    const c = pusherClient(node.httpPort, app);
    clients.push(c);
    return c;
  }

  it('keeps dead letters in Redis, where the CLI lists and replays them without any daemon involved', async () => {
    const c = client(nodes[0] as HeraldProcess, flakyApp);
    await connected(c);
    await subscribe(c, 'alerts');
    await waitFor(async () => (await connection.llen(`${QUEUE_PREFIX}:webhooks:dead-letters`)) === 1, { what: 'a dead letter in Redis' });

    const listed = await runCli(['webhooks', 'dead-letters', '--config', configFile, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const apps = JSON.parse(listed.stdout) as Array<{ app: string; deadLetters: Array<{ id: string; url: string; lastError: string; attempts: number }> }>;
    assert.deepEqual(apps.map((a) => [a.app, a.deadLetters.length]), [[occupancyApp.id, 0], [flakyApp.id, 1]]);
    const entry = apps[1]?.deadLetters[0];
    assert.equal(entry?.url, `${new URL(flaky.url).origin}/[redacted]`, 'the URL is shown like the printed config: path and query masked');
    assert.equal(entry?.lastError, 'HTTP 500');
    assert.equal(entry?.attempts, 2);

    flaky.setMode({ type: 'ok' });
    const replayed = await runCli(['webhooks', 'dead-letters', '--config', configFile, '--app', flakyApp.id, '--replay']);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, new RegExp(`app ${flakyApp.id}: replayed 1 dead letter\\(s\\): ${entry?.id}`));
    assert.equal(await connection.llen(`${QUEUE_PREFIX}:webhooks:dead-letters`), 0);
    const delivered = await waitFor(() => flaky.accepted()[0], { what: 'the replayed batch, delivered by a daemon' });
    assert.deepEqual(JSON.parse(delivered.rawBody).events, [{ name: 'channel_occupied', channel: 'alerts' }]);
  });

  it('sends channel_occupied once although subscribers of the channel sit on both nodes', async () => {
    const [a, b] = [client(nodes[0] as HeraldProcess, occupancyApp), client(nodes[1] as HeraldProcess, occupancyApp)];
    await Promise.all([connected(a), connected(b)]);
    await subscribe(a, 'shared');
    await subscribe(b, 'shared');
    a.unsubscribe('shared');
    b.unsubscribe('shared');
    await waitFor(() => acceptedEvents(occupancy).some((e) => e.name === 'channel_vacated' && e.channel === 'shared'), { what: 'channel_vacated' });
    // Stopping both nodes flushes every open batch into Redis; every batch either was delivered or waits there.
    await Promise.all(nodes.map((node) => node.stop()));
    const queued = await webhookBatchEvents(connection);
    const occupied = queued.filter((e) => e.name === 'channel_occupied' && e.channel === 'shared');
    const vacated = queued.filter((e) => e.name === 'channel_vacated' && e.channel === 'shared');
    assert.equal(occupied.length, 1, JSON.stringify(queued));
    assert.equal(vacated.length, 1, JSON.stringify(queued));
  });
});

/** The events of every webhook batch BullMQ still holds (finished jobs are kept). */
async function webhookBatchEvents(connection: Redis): Promise<Array<Record<string, unknown>>> {
  const keys = await connection.keys(`${QUEUE_PREFIX}:webhooks:*`);
  const events: Array<Record<string, unknown>> = [];
  for (const key of keys) {
    if ((await connection.type(key)) !== 'hash') continue;
    const data = await connection.hget(key, 'data');
    if (data === null) continue;
    const job = JSON.parse(data) as { body?: string };
    if (job.body) events.push(...(JSON.parse(job.body) as { events: Array<Record<string, unknown>> }).events);
  }
  return events;
}
