import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { BoundHistogram } from '../../src/metrics/bound-histogram.js';

const buckets = [0.001, 0.005, 0.01, 0.1, 1];
/** On a bound, between bounds, below the first, above the last, zero. */
const values = [0.0005, 0.001, 0.003, 0.005, 0.0099, 0.01, 0.5, 1, 7.25, 0];
const labelSets = [
  { provider: 'apns', app: 'ios' },
  { provider: 'fcm', app: 'android' },
  // Escaped by the registry, the same way for both.
  { provider: 'webpush', app: 'a "quoted"\nname\\' },
];

/** The same observations into prom-client's Histogram and into a BoundHistogram, each in its own registry. */
function both(): { reference: Registry; bound: Registry; histogram: BoundHistogram<'provider' | 'app'> } {
  const reference = new Registry();
  const bound = new Registry();
  const expected = new Histogram({ name: 'herald_test_seconds', help: 'A test histogram.', labelNames: ['provider', 'app'], buckets, registers: [reference] });
  const histogram = new BoundHistogram('herald_test_seconds', 'A test histogram.', ['provider', 'app'] as const, buckets, bound);
  labelSets.forEach((labels, i) => {
    const series = histogram.series(labels);
    for (const value of values.slice(i)) {
      expected.observe(labels, value);
      series.observe(value);
    }
  });
  // Through observe(labels, value) as well: the same series as the bound one.
  expected.observe(labelSets[0] as { provider: string; app: string }, 0.02);
  histogram.observe({ provider: 'apns', app: 'ios' }, 0.02);
  return { reference, bound, histogram };
}

describe('BoundHistogram', () => {
  it("exports exactly the text prom-client's Histogram exports for the same observations", async () => {
    const { reference, bound } = both();
    const text = await bound.metrics();
    assert.equal(text, await reference.metrics());
    assert.match(text, /herald_test_seconds_bucket\{le="0.005",provider="apns",app="ios"\} 5\n/);
    assert.match(text, /herald_test_seconds_count\{provider="apns",app="ios"\} 11\n/);
  });

  it("gives getMetricsAsJSON the values prom-client's Histogram gives", async () => {
    const { reference, bound } = both();
    assert.deepEqual(await bound.getMetricsAsJSON(), await reference.getMetricsAsJSON());
  });

  it('binds a label set once: the same recorder for the same labels, whatever their key order', () => {
    const { histogram } = both();
    assert.equal(histogram.series({ provider: 'apns', app: 'ios' }), histogram.series({ app: 'ios', provider: 'apns' }));
    assert.notEqual(histogram.series({ provider: 'apns', app: 'ios' }), histogram.series({ provider: 'apns', app: 'ios2' }));
  });

  it('keeps label values apart that would join into the same text', async () => {
    const registry = new Registry();
    const histogram = new BoundHistogram('herald_join_seconds', 'Joins.', ['a', 'b'] as const, buckets, registry);
    histogram.observe({ a: 'x', b: 'yz' }, 1);
    histogram.observe({ a: 'xy', b: 'z' }, 1);
    const counts = (await registry.metrics()).split('\n').filter((line) => line.startsWith('herald_join_seconds_count'));
    assert.deepEqual(counts, ['herald_join_seconds_count{a="x",b="yz"} 1', 'herald_join_seconds_count{a="xy",b="z"} 1']);
  });

  it('removes a label set, and reset removes them all', async () => {
    const { bound, histogram } = both();
    histogram.remove({ provider: 'fcm', app: 'android' });
    const text = await bound.metrics();
    assert.doesNotMatch(text, /android/);
    assert.match(text, /app="ios"/);
    histogram.reset();
    assert.equal(await bound.metrics(), '# HELP herald_test_seconds A test histogram.\n# TYPE herald_test_seconds histogram\n');
  });

  it('drops a value that is not a finite number instead of throwing into the code that measured it', async () => {
    const registry = new Registry();
    const histogram = new BoundHistogram('herald_nan_seconds', 'NaN.', ['app'] as const, buckets, registry);
    const series = histogram.series({ app: 'ios' });
    series.observe(Number.NaN);
    series.observe(Number.POSITIVE_INFINITY);
    series.observe(0.5);
    const text = await registry.metrics();
    assert.match(text, /herald_nan_seconds_count\{app="ios"\} 1\n/);
    assert.match(text, /herald_nan_seconds_sum\{app="ios"\} 0.5\n/);
  });
});
