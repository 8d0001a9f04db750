import type { Metrics } from '../metrics/metrics.js';
import type { HistogramSeries } from '../metrics/bound-histogram.js';

interface RouteSeries {
  readonly labels: { readonly route: string; readonly method: string; readonly status: string };
  readonly duration: HistogramSeries;
  /** Requests answered since the counter was last written. */
  pending: number;
}

/**
 * http_requests_total and http_request_duration_seconds per route, method and status, each
 * label set looked up once per request: the duration goes to its bound series, and the
 * count is summed here and written once a turn (metrics/deferred-writes.ts), not hashed by
 * prom-client per request. The set is bounded: route patterns (or `unmatched`), the methods
 * node's parser accepts, and statuses.
 */
export class RequestMetrics {
  private readonly series = new Map<string, RouteSeries>();
  private readonly flush = (): void => {
    for (const entry of this.series.values()) {
      if (entry.pending === 0) continue;
      this.metrics.httpRequests.inc(entry.labels, entry.pending);
      entry.pending = 0;
    }
  };

  constructor(private readonly metrics: Metrics) {}

  record(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let entry = this.series.get(key);
    if (!entry) {
      const labels = { route, method, status: String(status) };
      entry = { labels, duration: this.metrics.httpDuration.series(labels), pending: 0 };
      this.series.set(key, entry);
    }
    entry.duration.observe(seconds);
    entry.pending += 1;
    this.metrics.deferred.mark(this.flush);
  }
}
