import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alternatingRounds, median, runTotals } from '../../bench/lib/stats.js';

// The benches' verdicts (a ratio over rounds) rest on these.
describe('bench statistics', () => {
  it('median: the middle of an odd count, the mean of the two middle values of an even count, whatever the order', () => {
    assert.equal(median([0.73, 0.31, 0.5]), 0.5);
    assert.equal(median([0.6, 0.4, 0.3, 0.5]), 0.45);
    assert.equal(median([7]), 7);
    assert.ok(Number.isNaN(median([])));
  });

  it('median sorts numbers as numbers, not as text', () => {
    assert.equal(median([10, 9, 100]), 10);
  });

  it('runTotals: throughput over the total time and CPU over the total units, not a mean of the rounds', () => {
    const totals = runTotals([
      { units: 1_000, seconds: 1, cpuSeconds: 0.1 },
      { units: 1_000, seconds: 4, cpuSeconds: 0.3 },
    ]);
    assert.equal(totals.perSecond, 400);
    assert.equal(totals.cpuMicrosPerUnit, 200);
  });

  it('alternatingRounds: every server once per round, each round in the opposite order, runs kept per server', async () => {
    const order: string[] = [];
    const { runs, rows } = await alternatingRounds(['a', 'b', 'c'], 3, async (server) => {
      order.push(server);
      return { row: { server, at: order.length } };
    });
    assert.deepEqual(order, ['a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c']);
    assert.deepEqual(rows.map((row) => [row.round, row.server]), [[1, 'a'], [1, 'b'], [1, 'c'], [2, 'c'], [2, 'b'], [2, 'a'], [3, 'a'], [3, 'b'], [3, 'c']]);
    assert.deepEqual(runs.get('b')?.map((run) => run.row.at), [2, 5, 8]);
  });
});
