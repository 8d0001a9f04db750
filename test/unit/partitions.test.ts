import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionOf, partitionPrefix, partitionTag, tagSlot } from '../../src/notifications/contract/partitions.js';

/** The master of a slot in a Cluster of `masters` masters with even ranges (what redis-cli --cluster create makes). */
const masterOf = (slot: number, masters: number): number => Math.min(masters - 1, Math.floor(slot / Math.ceil(16_384 / masters)));

describe('queue partitions', () => {
  it('puts each of N partitions on its own master of an N-master Cluster, for several prefixes', () => {
    for (const prefix of ['{herald}', '{prod}', '{h}', 'plain']) {
      for (const masters of [2, 3, 4]) {
        const tags = Array.from({ length: masters }, (_, k) => partitionTag(prefix, k, masters));
        const owners = new Set(tags.map((tag) => masterOf(tagSlot(tag), masters)));
        // A prefix whose own slot sits within 1/16 of a range of its master's end may spill over; these do not.
        assert.equal(owners.size, masters, `${prefix} × ${masters}: ${tags.map((t) => `${t}@${tagSlot(t)}`).join(' ')}`);
      }
    }
  });

  it('keeps partition 0 under the prefix as configured, so producers that know nothing of partitions still reach it', () => {
    assert.equal(partitionPrefix('{herald}', 0, 3), '{herald}');
    assert.equal(partitionTag('{herald}', 0, 3), 'herald');
    const one = partitionPrefix('{herald}', 1, 3);
    assert.match(one, /^\{herald-1\.\d+\}$/);
    assert.equal(partitionPrefix('app:{herald}:q', 1, 3), `app:${one}:q`);
    assert.equal(partitionPrefix('herald', 2, 3), 'herald-2');
  });

  it('spreads notifications over the partitions, the same for every caller, and all to 0 with one', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i += 1) {
      const p = partitionOf({ app: 'shop', id: `order-${i}` }, 3);
      assert.equal(partitionOf({ app: 'shop', id: `order-${i}` }, 3), p);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const count of counts) assert.ok(count > 800 && count < 1_200, `balanced: ${counts.join(', ')}`);
    assert.equal(partitionOf({ app: 'shop', id: 'x' }, 1), 0);
  });
});
