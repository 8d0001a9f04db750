import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { HeraldClient, HeraldClientError } from '../../src/client/index.js';
import type { NotificationInput } from '../../src/client/index.js';
import { queuedByThisCall, RedisRecords } from '../../src/client/redis-records.js';
import { ENVELOPE_JOB, ENVELOPE_QUEUE, MAX_ENVELOPE_NOTIFICATIONS, parseEnvelope } from '../../src/notifications/contract/envelope.js';
import { NOTIFY_QUEUE } from '../../src/notifications/contract/job-ids.js';
import { partitionOf, partitionPrefix, partitionTag } from '../../src/notifications/contract/partitions.js';
import { statusKey } from '../../src/notifications/contract/status.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import type { TestRedisCluster } from '../helpers/redis-cluster.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';

// herald/client's Redis mode against a real redis-server with no daemon: what it writes is
// read back with BullMQ and plain commands, exactly where the daemon's workers will look.

const app = 'shop';
let run = 0;

/** A fresh queue prefix and key prefix per test. */
function prefixes(): { prefix: string; keyPrefix: string } {
  run += 1;
  return { prefix: `cb${run}`, keyPrefix: `ck${run}` };
}

function tokenFor(i: number): string {
  return i.toString(16).padStart(64, '0');
}

function many(count: number, label: string): NotificationInput[] {
  return Array.from({ length: count }, (_, i) => ({ id: `${label}-${i}`, apns: { tokens: [tokenFor(i)], payload: { aps: { alert: `n ${i}` } } } }));
}

interface EnvelopeJob {
  id: string;
  name: string;
  ids: string[];
  delay: number;
}

/** Every job of one partition's `notification-batches` queue, in any state. */
async function envelopeJobs(connection: Redis | Cluster, prefix: string, partition: number, partitions: number): Promise<EnvelopeJob[]> {
  const own = connection instanceof Cluster ? connection.duplicate() : connection.duplicate();
  const queue = new Queue(ENVELOPE_QUEUE, { connection: own, prefix: partitionPrefix(prefix, partition, partitions) });
  try {
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    return jobs.map((job) => {
      const checked = parseEnvelope(job.data);
      assert.ok(checked.ok, 'the job data is a valid envelope');
      assert.deepEqual(checked.envelope.invalid, []);
      return { id: job.id ?? '', name: job.name, ids: checked.envelope.notifications.map((n) => n.id), delay: job.opts.delay ?? 0 };
    });
  } finally {
    await queue.close();
    own.disconnect();
  }
}

describe('herald/client sendMany and status records, on Redis', () => {
  let redis: TestRedis;
  let connection: Redis;
  const clients: HeraldClient[] = [];

  function client(options: { prefix: string; keyPrefix: string; partitions?: number; statusRetentionSeconds?: number }): HeraldClient {
    const made = new HeraldClient({ redis: redis.url, app, ...options });
    clients.push(made);
    return made;
  }

  before(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url);
  });

  after(async () => {
    for (const c of clients) await c.close();
    connection.disconnect();
    await redis.stop();
  });

  it('sendMany of 1,000 notifications is one envelope job; each status answers queued before any worker ran; records name that job as owner', async () => {
    const p = prefixes();
    const herald = client(p);
    const notifications = many(1_000, 'bulk');
    const results = await herald.sendMany(notifications);
    assert.deepEqual(results, notifications.map((n) => ({ id: n.id, duplicate: false })));

    const jobs = await envelopeJobs(connection, p.prefix, 0, 1);
    assert.equal(jobs.length, 1, 'one envelope job');
    const [job] = jobs as [EnvelopeJob];
    assert.equal(job.name, ENVELOPE_JOB);
    assert.match(job.id, /^b:0:[A-Za-z0-9_-]+$/);
    assert.deepEqual(job.ids, notifications.map((n) => n.id));
    assert.equal(await connection.llen(`${p.prefix}:${NOTIFY_QUEUE}:wait`), 0, 'no notify jobs');

    const space = { keyPrefix: p.keyPrefix, queuePrefix: p.prefix, partitions: 1 };
    for (const n of notifications) {
      const status = await herald.status(n.id as string);
      assert.equal(status?.state, 'queued', `${n.id} queued`);
      assert.equal(status?.apns.total, 1);
      assert.equal(status?.apns.pending, 1);
      assert.deepEqual(await connection.hmget(statusKey(space, { app, id: n.id as string }), 'owner', 'chunks', 'tokens'), [job.id, '1', '1']);
    }
    const ttl = await connection.ttl(statusKey(space, { app, id: 'bulk-0' }));
    assert.ok(ttl > 86_000 && ttl <= 86_400, `kept the default retention (ttl ${ttl})`);
  });

  it('a repeat sendMany of the same ids answers duplicate for all and queues nothing', async () => {
    const p = prefixes();
    const herald = client(p);
    const notifications = many(1_000, 'again');
    await herald.sendMany(notifications);
    const repeat = await herald.sendMany(notifications);
    assert.deepEqual(repeat, notifications.map((n) => ({ id: n.id, duplicate: true })));
    assert.equal((await envelopeJobs(connection, p.prefix, 0, 1)).length, 1, 'still the one envelope job');
    // Partly known: only the new ones are queued, in a second envelope.
    const mixed = [...many(10, 'again'), ...many(5, 'fresh')];
    const answers = await herald.sendMany(mixed);
    assert.deepEqual(answers.map((a) => a.duplicate), [...Array(10).fill(true), ...Array(5).fill(false)]);
    const jobs = await envelopeJobs(connection, p.prefix, 0, 1);
    assert.equal(jobs.length, 2);
    assert.deepEqual(jobs.find((j) => j.ids.length === 5)?.ids, ['fresh-0', 'fresh-1', 'fresh-2', 'fresh-3', 'fresh-4']);
  });

  it('the same id twice in one call is queued once, the later one a duplicate; ids are generated when absent and returned', async () => {
    const p = prefixes();
    const herald = client(p);
    const results = await herald.sendMany([
      { id: 'twice', realtime: { channels: ['a'], event: 'e', data: 1 } },
      { realtime: { channels: ['a'], event: 'e', data: 2 } },
      { id: 'twice', realtime: { channels: ['a'], event: 'e', data: 3 } },
    ]);
    assert.deepEqual(results[0], { id: 'twice', duplicate: false });
    assert.deepEqual(results[2], { id: 'twice', duplicate: true });
    assert.equal(results[1]?.duplicate, false);
    const generated = results[1]?.id ?? '';
    assert.match(generated, /^[0-9a-f-]{36}$/);
    const [job] = await envelopeJobs(connection, p.prefix, 0, 1);
    assert.deepEqual(job?.ids, ['twice', generated]);
    assert.equal((await herald.status(generated))?.state, 'queued');
  });

  it('cuts more than 1,000 notifications into envelopes of at most 1,000', async () => {
    const p = prefixes();
    const herald = client(p);
    const notifications = many(2_500, 'cut');
    const results = await herald.sendMany(notifications);
    assert.equal(results.filter((r) => !r.duplicate).length, 2_500);
    const jobs = await envelopeJobs(connection, p.prefix, 0, 1);
    assert.deepEqual(jobs.map((j) => j.ids.length).sort((a, b) => a - b), [500, MAX_ENVELOPE_NOTIFICATIONS, MAX_ENVELOPE_NOTIFICATIONS]);
    assert.deepEqual(jobs.flatMap((j) => j.ids).sort(), notifications.map((n) => n.id as string).sort(), 'each notification in exactly one envelope');
  });

  it('with partitions: 3, the envelopes spread over the 3 partition queues and every record key carries its partition tag', async () => {
    const p = prefixes();
    const herald = client({ ...p, partitions: 3 });
    const notifications = many(1_000, 'part');
    const results = await herald.sendMany(notifications);
    assert.ok(results.every((r) => !r.duplicate));
    const space = { keyPrefix: p.keyPrefix, queuePrefix: p.prefix, partitions: 3 };
    const seen = new Set<string>();
    for (let k = 0; k < 3; k += 1) {
      const jobs = await envelopeJobs(connection, p.prefix, k, 3);
      assert.equal(jobs.length, 1, `one envelope in partition ${k}`);
      const [job] = jobs as [EnvelopeJob];
      assert.match(job.id, new RegExp(`^b:${k}:`));
      assert.ok(job.ids.length > 200, `partition ${k} holds its share (${job.ids.length})`);
      const tag = partitionTag(p.prefix, k, 3);
      for (const id of job.ids) {
        seen.add(id);
        assert.equal(partitionOf({ app, id }, 3), k, `${id} is in its own partition`);
        const key = statusKey(space, { app, id });
        assert.ok(key.startsWith(`${p.keyPrefix}:notification:{${tag}}:`), key);
        assert.equal(await connection.hget(key, 'owner'), job.id);
      }
    }
    assert.equal(seen.size, 1_000);
    assert.notEqual(partitionPrefix(p.prefix, 1, 3), p.prefix, 'partitions 1 and 2 live under their own prefixes');
    for (const n of notifications.slice(0, 50)) assert.equal((await herald.status(n.id as string))?.state, 'queued');
    // A client that assumes one partition looks for the records elsewhere.
    const wrong = client(p);
    const misses = await Promise.all(notifications.slice(0, 30).map(async (n) => (await wrong.status(n.id as string)) === undefined));
    assert.ok(misses.some(Boolean), 'partitions decide where status lives: it must equal the daemon setting');
  });

  it('a single send adds its notify job, then a record owned by it: status answers queued at once; a repeat is a duplicate', async () => {
    const p = prefixes();
    const herald = client({ ...p, partitions: 3 });
    const notification = { id: 'single', apns: { tokens: Array.from({ length: 1_201 }, (_, i) => tokenFor(i)), payload: { aps: { alert: 'hi' } } } };
    assert.deepEqual(await herald.send(notification), { id: 'single', duplicate: false });
    assert.equal(await connection.exists(`${p.prefix}:${NOTIFY_QUEUE}:n:${app}:single`), 1, 'notify job n:<app>:<id> under the base prefix');
    const status = await herald.status('single');
    assert.equal(status?.state, 'queued');
    assert.equal(status?.apns.total, 1_201);
    const key = statusKey({ keyPrefix: p.keyPrefix, queuePrefix: p.prefix, partitions: 3 }, { app, id: 'single' });
    assert.deepEqual(await connection.hmget(key, 'owner', 'tokens', 'chunks', 'state'), [`n:${app}:single`, '1201', '3', 'queued']);
    assert.deepEqual(await herald.send(notification), { id: 'single', duplicate: true });
    assert.equal(await connection.llen(`${p.prefix}:${NOTIFY_QUEUE}:wait`), 1, 'queued once');
  });

  it('a scheduled notification, or one with more than 16 tokens, travels alone as e:<app>:<id>; its record is kept the retention beyond its send time; cancel() removes its job', async () => {
    const p = prefixes();
    const herald = client({ ...p, statusRetentionSeconds: 600 });
    const sendAt = Date.now() + 3_600_000;
    const results = await herald.sendMany([
      { id: 'now', realtime: { channels: ['a'], event: 'e', data: 1 } },
      { id: 'later', sendAt: new Date(sendAt).toISOString(), realtime: { channels: ['a'], event: 'e', data: 2 } },
      { id: 'wide', apns: { tokens: Array.from({ length: 17 }, (_, i) => tokenFor(i)), payload: { aps: { alert: 'x' } } } },
      { id: 'narrow', apns: { tokens: Array.from({ length: 16 }, (_, i) => tokenFor(i)), payload: { aps: { alert: 'x' } } } },
    ]);
    assert.ok(results.every((r) => !r.duplicate));
    const jobs = await envelopeJobs(connection, p.prefix, 0, 1);
    assert.equal(jobs.length, 3);
    const shared = jobs.find((j) => j.id.startsWith('b:0:'));
    assert.deepEqual(shared?.ids, ['now', 'narrow']);
    assert.deepEqual(jobs.find((j) => j.id === `e:${app}:wide`)?.ids, ['wide']);
    const delayed = jobs.find((j) => j.id === `e:${app}:later`);
    assert.deepEqual(delayed?.ids, ['later']);
    assert.ok((delayed?.delay ?? 0) > 3_590_000, 'the envelope waits for the send time');
    const space = { keyPrefix: p.keyPrefix, queuePrefix: p.prefix, partitions: 1 };
    assert.equal(await connection.hget(statusKey(space, { app, id: 'later' }), 'owner'), `e:${app}:later`);
    const ttl = await connection.ttl(statusKey(space, { app, id: 'later' }));
    assert.ok(ttl > 3_600 + 590 && ttl <= 3_600 + 600, `ttl ${ttl}`);
    assert.deepEqual(await herald.cancel('later'), { cancelled: true });
    const status = await herald.status('later');
    assert.deepEqual([status?.state, status?.error], ['failed', 'cancelled']);
    assert.equal(await connection.exists(`${p.prefix}:${ENVELOPE_QUEUE}:e:${app}:later`), 0, 'its delayed job is gone');
  });

  it('a notification travelling alone whose job exists without a record (an earlier call stopped between the two) gets its record, and is queued once', async () => {
    const p = prefixes();
    const herald = client(p);
    const notification = { id: 'resumed', sendAt: new Date(Date.now() + 600_000).toISOString(), realtime: { channels: ['a'], event: 'e', data: 1 } };
    await herald.sendMany([notification]);
    const key = statusKey({ keyPrefix: p.keyPrefix, queuePrefix: p.prefix, partitions: 1 }, { app, id: 'resumed' });
    await connection.del(key);
    assert.equal(await herald.status('resumed'), undefined);
    assert.deepEqual(await herald.sendMany([notification]), [{ id: 'resumed', duplicate: false }]);
    assert.equal((await herald.status('resumed'))?.state, 'queued');
    assert.equal(await connection.hget(key, 'owner'), `e:${app}:resumed`);
    assert.deepEqual(await herald.sendMany([notification]), [{ id: 'resumed', duplicate: true }]);
    assert.equal((await envelopeJobs(connection, p.prefix, 0, 1)).length, 1, 'one job');
  });

  it('refuses the whole call for its first invalid notification, with its index and path; nothing reaches Redis', async () => {
    const p = prefixes();
    const herald = client(p);
    const notifications: NotificationInput[] = [...many(3, 'bad'), { apns: { tokens: [tokenFor(1), 'zz'], payload: { aps: { alert: 'x' } } } }, { id: 'x:y', realtime: { channels: ['a'], event: 'e', data: 1 } }];
    const keysBefore = await connection.dbsize();
    await assert.rejects(herald.sendMany(notifications), (err: unknown) => {
      assert.ok(err instanceof HeraldClientError);
      assert.equal(err.code, 'invalid');
      assert.equal(err.index, 3);
      assert.equal(err.path, '[3].apns.tokens[1]');
      assert.match(err.message, /^\[3\]\.apns\.tokens\[1\]: /);
      return true;
    });
    await assert.rejects(herald.sendMany([...many(2, 'bad'), { app: 'other', realtime: { channels: ['a'], event: 'e', data: 1 } }]), { code: 'invalid', index: 2, path: '[2].app' });
    await assert.rejects(herald.sendMany([null as unknown as NotificationInput]), { code: 'invalid', index: 0, path: '[0]' });
    // JSON.parse makes `__proto__` an own key: refused as a field, never taken as the copy's prototype.
    const parsed = JSON.parse(`{"__proto__": {"realtime": {"channels": ["a"], "event": "e", "data": 1}}, "apns": {"tokens": ["${tokenFor(1)}"], "payload": {"aps": {"alert": "x"}}}}`) as NotificationInput;
    await assert.rejects(herald.sendMany([...many(1, 'proto'), parsed]), { code: 'invalid', index: 1, path: '[1].__proto__' });
    assert.equal(await connection.dbsize(), keysBefore, 'no key was written');
    assert.deepEqual(await herald.sendMany([]), []);
  });

  it('a record already owned by another job makes the notification a duplicate (the other job delivers it)', async () => {
    const p = prefixes();
    const records = new RedisRecords(connection, { keyPrefix: p.keyPrefix, queuePrefix: p.prefix, partitions: 1, chunkSize: 500, statusRetentionSeconds: 60 });
    const n = { v: 1 as const, app, id: 'contended', apns: { tokens: [tokenFor(7)], payload: { aps: { alert: 'x' } } } };
    const [made] = await records.create([n], 'b:0:first', 0);
    assert.ok(made && queuedByThisCall(made, 'b:0:first', true));
    const [again] = await records.create([n], 'b:0:first', 0);
    assert.ok(again && queuedByThisCall(again, 'b:0:first', true), 'the same job, added by this call, whose worker ran first: still this call\'s');
    assert.ok(again && !queuedByThisCall(again, 'b:0:first', false), 'the same job found already there: an earlier call\'s');
    const [other] = await records.create([n], 'b:0:second', 0);
    assert.deepEqual(other, { created: false, state: 'queued', owner: 'b:0:first' });
    assert.ok(!queuedByThisCall(other, 'b:0:second', true));
    assert.equal(await connection.hget(records.key(n), 'owner'), 'b:0:first');
  });

  it('refuses partitions, chunkSize and statusRetentionSeconds out of Herald\'s bounds at construction', () => {
    for (const partitions of [0, 65, 1.5, Number.NaN]) {
      assert.throws(() => new HeraldClient({ redis: redis.url, app, partitions }), { code: 'invalid', path: 'partitions' });
    }
    assert.throws(() => new HeraldClient({ redis: redis.url, app, chunkSize: 0 }), { code: 'invalid', path: 'chunkSize' });
    assert.throws(() => new HeraldClient({ redis: redis.url, app, statusRetentionSeconds: -1 }), { code: 'invalid', path: 'statusRetentionSeconds' });
  });
});

describe('herald/client sendMany on a 3-master Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let connection: Cluster;

  before(async () => {
    cluster = await startRedisCluster(3);
    connection = new Cluster([...cluster.nodes]);
  });

  after(async () => {
    await connection.quit().catch(() => undefined);
    await cluster.stop();
  });

  it('writes each partition\'s envelope and records in its own slot (no CROSSSLOT), and reads every status back', async () => {
    const herald = new HeraldClient({ redis: { mode: 'cluster', clusterNodes: cluster.nodes, keyPrefix: 'hk' }, prefix: '{hq}', partitions: 3, app });
    try {
      const notifications = many(600, 'cluster');
      const results = await herald.sendMany(notifications);
      assert.ok(results.every((r) => !r.duplicate));
      const counts: number[] = [];
      for (let k = 0; k < 3; k += 1) {
        const jobs = await envelopeJobs(connection, '{hq}', k, 3);
        assert.equal(jobs.length, 1, `partition ${k}`);
        counts.push(jobs[0]?.ids.length ?? 0);
      }
      assert.equal(counts.reduce((a, b) => a + b, 0), 600);
      for (const n of notifications.slice(0, 60)) assert.equal((await herald.status(n.id as string))?.state, 'queued');
      assert.deepEqual(await herald.sendMany(notifications.slice(0, 100)), notifications.slice(0, 100).map((n) => ({ id: n.id, duplicate: true })));
      assert.deepEqual(await herald.send({ id: 'one', realtime: { channels: ['a'], event: 'e', data: 1 } }), { id: 'one', duplicate: false });
      assert.equal((await herald.status('one'))?.state, 'queued');
    } finally {
      await herald.close();
    }
  });
});
