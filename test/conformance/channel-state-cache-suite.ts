import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { ChannelCache } from '../../src/gateway/state/channel-cache.js';
import { waitFor } from '../helpers/wait.js';

/** How a test file hands a ChannelCache implementation to the suite. */
export interface ChannelCacheTarget {
  readonly name: string;
  /** `count` started handles on one shared cache (the same instance when nothing is shared). */
  createNodes(count: number): Promise<ChannelCache[]>;
  cleanup(): Promise<void>;
}

const freshRef = (channel = 'cache-prices') => ({ app: `app-${randomUUID()}`, channel });

/** The contract of the cache-channel last-event store; run it once per implementation. */
export function channelCacheConformance(target: ChannelCacheTarget): void {
  describe(`ChannelCache conformance: ${target.name}`, () => {
    afterEach(async () => {
      await target.cleanup();
    });

    it('has nothing for a channel never published to', async () => {
      const [cache] = await target.createNodes(1);
      assert.equal(await cache?.get(freshRef()), undefined);
    });

    it('returns the last event set on any node, byte for byte, with the remaining ttl', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const ref = freshRef();
      await a.set(ref, { event: 'first', data: '{"n":1}' }, 60);
      const data = JSON.stringify({ price: 'café €3 👋', quote: '"', slash: '\\', nl: '\n' });
      await a.set(ref, { event: 'second', data }, 60);
      const entry = await b.get(ref);
      assert.deepEqual(entry?.event, { event: 'second', data });
      assert.ok(entry && entry.ttlSeconds >= 1 && entry.ttlSeconds <= 60, `ttl ${entry?.ttlSeconds}`);
    });

    it('keeps channels and apps apart', async () => {
      const [cache] = await target.createNodes(1);
      assert.ok(cache);
      const ref = freshRef('cache-a');
      await cache.set(ref, { event: 'e', data: 'a' }, 60);
      assert.equal(await cache.get({ app: ref.app, channel: 'cache-b' }), undefined);
      assert.equal(await cache.get({ app: `app-${randomUUID()}`, channel: 'cache-a' }), undefined);
    });

    it('forgets an event once its ttl has passed', async () => {
      const [a, b] = await target.createNodes(2);
      assert.ok(a && b);
      const ref = freshRef();
      await a.set(ref, { event: 'short', data: 'x' }, 1);
      assert.equal((await b.get(ref))?.event.event, 'short');
      await waitFor(async () => (await b.get(ref)) === undefined, { timeoutMs: 5_000, intervalMs: 100, what: 'the cached event to expire' });
    });

    it('restarts the ttl when a newer event replaces the old one', async () => {
      const [cache] = await target.createNodes(1);
      assert.ok(cache);
      const ref = freshRef();
      await cache.set(ref, { event: 'old', data: 'x' }, 1);
      await cache.set(ref, { event: 'new', data: 'y' }, 120);
      const entry = await cache.get(ref);
      assert.equal(entry?.event.event, 'new');
      assert.ok((entry?.ttlSeconds ?? 0) > 60);
    });
  });
}
