import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, runTotals } from '../../bench/lib/stats.js';

// The benches' verdicts (a ratio over rounds) rest on these two.
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
});
