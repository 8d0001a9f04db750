import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/metrics/metrics.js';
import { appPushMetrics } from '../../src/providers/shared/push-metrics.js';

// Every provider records into herald_push_* under its provider label; APNs also into its
// own herald_apns_* families, which the dashboard, the alerts and the runbook read.

type Metrics = ReturnType<typeof createMetrics>;

/** Every sample of `name` (histograms: every `_bucket`, `_sum` and `_count` sample), labels as strings. */
async function samples(metrics: Metrics, name: string): Promise<Array<{ name: string; labels: Record<string, string>; value: number }>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `${name} is registered`);
  return metric.values.map((v) => ({
    name: (v as { metricName?: string }).metricName ?? name,
    labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])),
    value: v.value,
  }));
}

/** Exercises every measure once for `provider` and `app`. */
function recordOneOfEach(metrics: Metrics, provider: 'apns' | 'fcm' | 'webpush', app: string): void {
  const recorded = appPushMetrics(metrics, provider, app);
  recorded.request('200', 'Success', 0.02);
  recorded.request('none', 'Timeout');
  recorded.retry('Timeout');
  recorded.invalidToken('Unregistered');
  recorded.inFlight(+1);
  recorded.inFlight(+1);
  recorded.inFlight(-1);
  recorded.credentialsOk(false);
}

describe('appPushMetrics', () => {
  it('records each measure under herald_push_* with the provider label, and only APNs also under herald_apns_*', async () => {
    const metrics = createMetrics({ defaults: false });
    recordOneOfEach(metrics, 'apns', 'ios');
    recordOneOfEach(metrics, 'fcm', 'android');
    recordOneOfEach(metrics, 'webpush', 'browser');

    const requests = await samples(metrics, 'herald_push_requests_total');
    assert.deepEqual(
      requests.map((s) => [s.labels.provider, s.labels.app, s.labels.status, s.labels.reason, s.value]).sort(),
      [
        ['apns', 'ios', '200', 'Success', 1],
        ['apns', 'ios', 'none', 'Timeout', 1],
        ['fcm', 'android', '200', 'Success', 1],
        ['fcm', 'android', 'none', 'Timeout', 1],
        ['webpush', 'browser', '200', 'Success', 1],
        ['webpush', 'browser', 'none', 'Timeout', 1],
      ],
    );
    const counts = (await samples(metrics, 'herald_push_request_duration_seconds')).filter((s) => s.name.endsWith('_count'));
    assert.deepEqual(counts.map((s) => [s.labels.provider, s.value]).sort(), [['apns', 1], ['fcm', 1], ['webpush', 1]], 'only answered requests have a latency');
    for (const name of ['herald_push_retries_total', 'herald_push_invalid_tokens_total', 'herald_push_in_flight']) {
      assert.deepEqual((await samples(metrics, name)).map((s) => [s.labels.provider, s.value]).sort(), [['apns', 1], ['fcm', 1], ['webpush', 1]], name);
    }
    assert.deepEqual((await samples(metrics, 'herald_push_credentials_ok')).map((s) => [s.labels.provider, s.labels.app, s.value]).sort(), [['apns', 'ios', 0], ['fcm', 'android', 0], ['webpush', 'browser', 0]]);

    // The APNs families hold APNs alone, with the labels they always had.
    const apnsRequests = await samples(metrics, 'herald_apns_requests_total');
    assert.deepEqual(apnsRequests.map((s) => [s.labels, s.value]), [[{ app: 'ios', status: '200', reason: 'Success' }, 1], [{ app: 'ios', status: 'none', reason: 'Timeout' }, 1]]);
    assert.deepEqual((await samples(metrics, 'herald_apns_request_duration_seconds')).filter((s) => s.name.endsWith('_count')).map((s) => [s.labels, s.value]), [[{ app: 'ios' }, 1]]);
    assert.deepEqual((await samples(metrics, 'herald_apns_retries_total')).map((s) => [s.labels, s.value]), [[{ app: 'ios', reason: 'Timeout' }, 1]]);
    assert.deepEqual((await samples(metrics, 'herald_apns_invalid_tokens_total')).map((s) => [s.labels, s.value]), [[{ app: 'ios', reason: 'Unregistered' }, 1]]);
    assert.deepEqual((await samples(metrics, 'herald_apns_in_flight')).map((s) => [s.labels, s.value]), [[{ app: 'ios' }, 1]]);
    assert.deepEqual((await samples(metrics, 'herald_apns_credentials_ok')).map((s) => [s.labels, s.value]), [[{ app: 'ios' }, 0]]);
  });

  it('removeCredentialsOk drops the app’s credentials series (both families for APNs) and leaves other apps’', async () => {
    const metrics = createMetrics({ defaults: false });
    const gone = appPushMetrics(metrics, 'apns', 'gone');
    gone.credentialsOk(true);
    appPushMetrics(metrics, 'apns', 'kept').credentialsOk(true);
    appPushMetrics(metrics, 'fcm', 'gone').credentialsOk(true);
    gone.removeCredentialsOk();
    assert.deepEqual((await samples(metrics, 'herald_push_credentials_ok')).map((s) => [s.labels.provider, s.labels.app]).sort(), [['apns', 'kept'], ['fcm', 'gone']]);
    assert.deepEqual((await samples(metrics, 'herald_apns_credentials_ok')).map((s) => s.labels.app), ['kept']);
  });

  it('removeGauges drops the app’s credentials and in-flight series (both families for APNs), keeps its counters and other apps’ gauges', async () => {
    const metrics = createMetrics({ defaults: false });
    recordOneOfEach(metrics, 'apns', 'gone');
    recordOneOfEach(metrics, 'fcm', 'gone');
    recordOneOfEach(metrics, 'webpush', 'kept');
    appPushMetrics(metrics, 'apns', 'gone').removeGauges();
    appPushMetrics(metrics, 'fcm', 'gone').removeGauges();
    for (const name of ['herald_push_credentials_ok', 'herald_push_in_flight']) {
      assert.deepEqual((await samples(metrics, name)).map((s) => [s.labels.provider, s.labels.app]), [['webpush', 'kept']], name);
    }
    assert.deepEqual(await samples(metrics, 'herald_apns_credentials_ok'), []);
    assert.deepEqual(await samples(metrics, 'herald_apns_in_flight'), []);
    // Counters keep their totals: rate() over them stays right through the removal.
    assert.deepEqual((await samples(metrics, 'herald_push_requests_total')).filter((s) => s.labels.app === 'gone').length, 4);
  });
  it('sums requests and in-flight changes made within a turn into one write each, and a scrape reads them before that write', async () => {
    const metrics = createMetrics({ defaults: false });
    const writes = { counter: 0, gauge: 0 };
    const inc = metrics.pushRequests.inc.bind(metrics.pushRequests);
    metrics.pushRequests.inc = ((...args: Parameters<typeof inc>) => {
      writes.counter += 1;
      return inc(...args);
    }) as typeof metrics.pushRequests.inc;
    const gaugeInc = metrics.pushInFlight.inc.bind(metrics.pushInFlight);
    metrics.pushInFlight.inc = ((...args: Parameters<typeof gaugeInc>) => {
      writes.gauge += 1;
      return gaugeInc(...args);
    }) as typeof metrics.pushInFlight.inc;
    const recorded = appPushMetrics(metrics, 'apns', 'ios');
    for (let i = 0; i < 100; i++) {
      recorded.inFlight(+1);
      recorded.request('200', 'Success', 0.01);
    }
    for (let i = 0; i < 40; i++) recorded.inFlight(-1);
    // Read in the same turn: the scrape writes what is pending.
    const requests = await samples(metrics, 'herald_apns_requests_total');
    assert.deepEqual(requests.map((s) => s.value), [100]);
    assert.deepEqual((await samples(metrics, 'herald_push_in_flight')).map((s) => s.value), [60]);
    assert.deepEqual(writes, { counter: 1, gauge: 1 }, 'one write per series, not one per request');
    // A later turn: only what changed since is written.
    for (let i = 0; i < 60; i++) recorded.inFlight(-1);
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, { counter: 1, gauge: 2 });
    assert.deepEqual((await samples(metrics, 'herald_apns_in_flight')).map((s) => s.value), [0]);
  });

  it('writes what is pending before removing the gauges, so nothing brings their series back', async () => {
    const metrics = createMetrics({ defaults: false });
    const recorded = appPushMetrics(metrics, 'apns', 'ios');
    recorded.inFlight(+1);
    recorded.inFlight(-1);
    recorded.removeGauges();
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(await samples(metrics, 'herald_push_in_flight'), []);
    assert.deepEqual(await samples(metrics, 'herald_apns_in_flight'), []);
  });
});
