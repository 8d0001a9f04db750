import type { Metric, Registry } from 'prom-client';

/** Records one value into a label set bound once. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** One exported sample, the shape prom-client's registry formats (`sharedLabels` follow `labels`). */
interface ExportedValue {
  value: number;
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  /** No exemplars are kept: null on buckets, undefined on sum and count, as prom-client has them. */
  exemplar: null | undefined;
}

/** What `get` and `getForPromString` answer, as prom-client's metrics do. */
interface HistogramData<V> {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: V[];
}

class Series implements HistogramSeries {
  /** Per bucket (not cumulative); the last one counts values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // Not a number: dropped, where prom-client would throw into the request that measured it.
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket += 1;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

/**
 * A histogram for the hot paths: `series(labels)` binds a label set once and returns a
 * recorder whose `observe` is a bucket search and three additions. prom-client's
 * Histogram checks and joins the labels on every call (one to two microseconds; an APNs
 * request made two). Scraped through the same registry, it exports exactly the text
 * prom-client's Histogram would for the same observations (test/unit/bound-histogram.test.ts).
 */
export class BoundHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bound = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    // The registry reads a metric through getForPromString() or get(), and reset(); this class is not one of prom-client's.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The recorder of one label set; the same object for the same labels until `remove` or `reset`. */
  series(labels: Readonly<Record<L, string>>): HistogramSeries {
    const key = this.keyOf(labels);
    let series = this.bound.get(key);
    if (!series) {
      const copy: Record<string, string> = {};
      for (const name of this.labelNames) copy[name] = labels[name];
      series = new Series(copy, this.buckets);
      this.bound.set(key, series);
    }
    return series;
  }

  /** For label sets that change per call (HTTP route and status): one Map lookup, then as `series`. */
  observe(labels: Readonly<Record<L, string>>, value: number): void {
    this.series(labels).observe(value);
  }

  /**
   * Drops a label set. A recorder bound earlier keeps counting into a series no longer
   * exported, so a caller removes only what it will not record again.
   */
  remove(labels: Readonly<Record<L, string>>): void {
    this.bound.delete(this.keyOf(labels));
  }

  reset(): void {
    this.bound.clear();
  }

  /** As prom-client's `get()`: each value's labels with the series' labels spread in. */
  get(): Promise<HistogramData<Omit<ExportedValue, 'sharedLabels'>>> {
    const snapshot = this.snapshot();
    const values = snapshot.values.map(({ sharedLabels, labels, ...value }) => ({ ...value, labels: { ...labels, ...sharedLabels } }));
    return Promise.resolve({ ...snapshot, values });
  }

  /** What the registry formats: bucket lines carry `le` first, then the series' labels (as prom-client's Histogram). */
  getForPromString(): Promise<HistogramData<ExportedValue>> {
    return Promise.resolve(this.snapshot());
  }

  private snapshot(): HistogramData<ExportedValue> {
    const values: ExportedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.bound.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, bucket) => {
        cumulative += series.counts[bucket] as number;
        values.push({ value: cumulative, metricName: bucketName, labels: { le }, sharedLabels: series.labels, exemplar: null });
      });
      values.push(
        { value: series.count, metricName: bucketName, labels: { le: '+Inf' }, sharedLabels: series.labels, exemplar: null },
        { value: series.sum, metricName: `${this.name}_sum`, labels: {}, sharedLabels: series.labels, exemplar: undefined },
        { value: series.count, metricName: `${this.name}_count`, labels: {}, sharedLabels: series.labels, exemplar: undefined },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  private keyOf(labels: Readonly<Record<L, string>>): string {
    const names = this.labelNames;
    if (names.length === 1) return labels[names[0] as L];
    let key = '';
    for (const name of names) key += `${labels[name]}\u0000`;
    return key;
  }
}
