import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ReplyError } from 'ioredis';
import { stringify } from 'yaml';
import { HeraldClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/load.js';
import { HeraldError, isHeraldError } from '../../src/errors.js';
import { hasHashTag } from '../../src/lib/hash-tag.js';
import { redisConfigured } from '../../src/redis/redis-client.js';
import { isRedisUnavailable } from '../../src/redis/redis-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-config-shapes-'));
let counter = 0;
const app = { id: 'a1', key: 'k1', secret: 'secret-one' };
const clusterNodes = [{ host: '127.0.0.1', port: 7000 }];

function load(content: Record<string, unknown>, env: Record<string, string> = {}): ReturnType<typeof loadConfig> {
  const path = join(dir, `c${counter++}.yaml`);
  writeFileSync(path, stringify({ apps: [app], ...content }));
  return loadConfig({ file: path, env });
}

function refusal(content: Record<string, unknown>, env: Record<string, string> = {}): string {
  try {
    load(content, env);
  } catch (err) {
    assert.ok(isHeraldError(err, 'HERALD_CONFIG_INVALID'), `expected HERALD_CONFIG_INVALID, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('queue.prefix on a Redis Cluster (BullMQ needs every key of a queue in one slot)', () => {
  it('refuses cluster mode with a queue.prefix that has no hash tag, naming the key and a fix', () => {
    const message = refusal({ redis: { mode: 'cluster', clusterNodes }, queue: { prefix: 'herald' } });
    assert.match(message, /queue\.prefix/);
    assert.match(message, /hash tag/);
    assert.match(message, /"\{herald\}"/);
  });

  it('refuses the default prefix in cluster mode, also when the prefix comes from the environment', () => {
    assert.match(refusal({ redis: { mode: 'cluster', clusterNodes } }), /queue\.prefix.*'herald' has no \{hash tag\}/);
    assert.match(refusal({ redis: { mode: 'cluster', clusterNodes } }, { HERALD_QUEUE_PREFIX: 'jobs' }), /"\{jobs\}"/);
  });

  it('refuses an empty hash tag, which Redis does not treat as a tag', () => {
    assert.match(refusal({ redis: { mode: 'cluster', clusterNodes }, queue: { prefix: 'q{}' } }), /queue\.prefix/);
  });

  it('accepts a hash tag anywhere in the prefix in cluster mode', () => {
    for (const prefix of ['{herald}', 'prod:{herald}', '{q}x']) {
      assert.equal(load({ redis: { mode: 'cluster', clusterNodes }, queue: { prefix } }).queue.prefix, prefix);
    }
  });

  it('does not ask for a hash tag on a single server or behind Sentinel', () => {
    assert.equal(load({ redis: { url: 'redis://127.0.0.1:6379' } }).queue.prefix, 'herald');
    assert.equal(load({ redis: { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 26379 }], sentinelName: 'm' } }).queue.prefix, 'herald');
  });

  it('hasHashTag follows Redis: the first { and the next }, with something between', () => {
    assert.deepEqual(
      ['{a}', 'x{a}y', '{}', 'a}b{', '{{a}', 'a{b', 'plain', '}{a}'].map(hasHashTag),
      [true, true, false, false, true, false, false, true],
    );
  });
});

describe('Redis mode is chosen by redisConfigured, whatever the shape', () => {
  it('counts a url, a Sentinel or a Cluster as Redis, and nothing else', () => {
    assert.equal(redisConfigured(load({}).redis), false);
    assert.equal(redisConfigured(load({ redis: { url: 'redis://127.0.0.1:6379' } }).redis), true);
    assert.equal(redisConfigured(load({ redis: { mode: 'sentinel', sentinels: [{ host: 'h', port: 1 }], sentinelName: 'm' } }).redis), true);
    assert.equal(redisConfigured(load({ redis: { mode: 'cluster', clusterNodes }, queue: { prefix: '{h}' } }).redis), true);
  });
});

describe('herald/client over Redis checks the shape it is given', () => {
  it('refuses settings that name no Redis', () => {
    assert.throws(() => new HeraldClient({ redis: { mode: 'cluster' }, app: 'a' }), { code: 'invalid', message: /names no server/ });
    assert.throws(() => new HeraldClient({ redis: { mode: 'sentinel', sentinels: [{ host: 'h', port: 1 }] }, app: 'a' }), { code: 'invalid', message: /sentinelName/ });
    assert.throws(() => new HeraldClient({ redis: 'http://127.0.0.1:6379', app: 'a' }), { code: 'invalid', message: /redis:\/\// });
  });

  it('refuses a Cluster with a prefix that has no hash tag', () => {
    assert.throws(() => new HeraldClient({ redis: { mode: 'cluster', clusterNodes }, prefix: 'herald', app: 'a' }), { code: 'invalid', message: /hash tag/ });
    assert.throws(() => new HeraldClient({ redis: { mode: 'cluster', clusterNodes }, app: 'a' }), { code: 'invalid', message: /'herald'/ });
  });
});

describe('isRedisUnavailable tells an outage from a refused command', () => {
  const errorWith = (message: string, fields: Record<string, unknown> = {}): Error => Object.assign(new Error(message), fields);

  it('recognises outages, also wrapped as a cause', () => {
    const outages = [
      new HeraldError('HERALD_REDIS_UNAVAILABLE', 'fanout to other nodes failed'),
      errorWith('connect ECONNREFUSED 127.0.0.1:6379', { code: 'ECONNREFUSED' }),
      errorWith("Stream isn't writeable and enableOfflineQueue options is false"),
      errorWith('Connection is closed.'),
      errorWith('Command timed out'),
      errorWith("Cluster isn't ready and enableOfflineQueue options is false"),
      new ReplyError('LOADING Redis is loading the dataset in memory'),
      new ReplyError("READONLY You can't write against a read only replica."),
      new Error('job not queued', { cause: errorWith('read ECONNRESET', { code: 'ECONNRESET' }) }),
    ];
    for (const err of outages) assert.equal(isRedisUnavailable(err), true, err.message);
  });

  it('leaves other failures alone', () => {
    const others = [
      new ReplyError('ERR wrong number of arguments'),
      new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      new HeraldError('HERALD_INTERNAL'),
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      'ECONNREFUSED',
      undefined,
    ];
    for (const err of others) assert.equal(isRedisUnavailable(err), false, String(err));
  });
});
