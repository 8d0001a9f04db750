import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/metrics/metrics.js';
import { RequestMetrics } from '../../src/http/request-metrics.js';

type Metrics = ReturnType<typeof createMetrics>;

async function sampled(metrics: Metrics, name: string): Promise<Array<[string, string, string, string, number]>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `${name} is registered`);
  return metric.values
    .map((v) => [(v as { metricName?: string }).metricName ?? name, String(v.labels.route), String(v.labels.method), String(v.labels.status), v.value] as [string, string, string, string, number])
    .sort();
}

describe('RequestMetrics', () => {
  it('counts requests per route, method and status, and a scrape in the same turn already sees every one', async () => {
    const metrics = createMetrics({ defaults: false });
    const recorded = new RequestMetrics(metrics);
    recorded.record('/apps/:appId/events', 'POST', 200, 0.002);
    recorded.record('/apps/:appId/events', 'POST', 200, 0.004);
    recorded.record('/apps/:appId/events', 'POST', 400, 0.001);
    recorded.record('unmatched', 'GET', 404, 0.0005);
    // No turn of the event loop has passed: the scrape itself writes what is pending.
    assert.deepEqual(await sampled(metrics, 'herald_http_requests_total'), [
      ['herald_http_requests_total', '/apps/:appId/events', 'POST', '200', 2],
      ['herald_http_requests_total', '/apps/:appId/events', 'POST', '400', 1],
      ['herald_http_requests_total', 'unmatched', 'GET', '404', 1],
    ]);
    const counts = (await sampled(metrics, 'herald_http_request_duration_seconds')).filter(([name]) => name.endsWith('_count'));
    assert.deepEqual(
      counts.map(([, route, method, status, value]) => [route, method, status, value]),
      [
        ['/apps/:appId/events', 'POST', '200', 2],
        ['/apps/:appId/events', 'POST', '400', 1],
        ['unmatched', 'GET', '404', 1],
      ],
    );
  });

  it('adds later requests to what was written, once per label set', async () => {
    const metrics = createMetrics({ defaults: false });
    const recorded = new RequestMetrics(metrics);
    recorded.record('/health', 'GET', 200, 0.001);
    await new Promise((resolve) => setImmediate(resolve));
    recorded.record('/health', 'GET', 200, 0.001);
    recorded.record('/health', 'GET', 200, 0.001);
    assert.deepEqual(await sampled(metrics, 'herald_http_requests_total'), [['herald_http_requests_total', '/health', 'GET', '200', 3]]);
    assert.deepEqual(await sampled(metrics, 'herald_http_requests_total'), [['herald_http_requests_total', '/health', 'GET', '200', 3]], 'a second scrape counts nothing twice');
  });
});
