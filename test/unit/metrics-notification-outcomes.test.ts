import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/metrics/metrics.js';

// herald_notifications_total{status} once held intake (accepted, duplicate) and completion
// (completed, failed, expired) together, so its sum counted every notification twice.

async function total(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, `${name} is registered`);
  return metric.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

describe('notification outcome counters', () => {
  it('count intake and completion apart, so each sums to a number of notifications', async () => {
    const metrics = createMetrics({ defaults: false });
    // Two notifications: one completes (some tokens expired), one fails; one repeat.
    metrics.notifications.inc({ app: 'a', status: 'accepted' });
    metrics.notifications.inc({ app: 'a', status: 'accepted' });
    metrics.notifications.inc({ app: 'a', status: 'duplicate' });
    metrics.notifications.inc({ app: 'a', status: 'completed' });
    metrics.notifications.inc({ app: 'a', status: 'expired' });
    metrics.notifications.inc({ app: 'a', status: 'failed' });
    assert.equal(await total(metrics, 'herald_notifications_accepted_total'), 2);
    assert.equal(await total(metrics, 'herald_notifications_finished_total'), 2);
    assert.equal(await total(metrics, 'herald_notifications_finished_total', { state: 'completed' }), 1);
    assert.equal(await total(metrics, 'herald_notifications_finished_total', { state: 'failed' }), 1);
    assert.equal(await total(metrics, 'herald_notifications_duplicates_total'), 1);
    assert.equal(await total(metrics, 'herald_notifications_with_expired_tokens_total'), 1);
    assert.equal((await metrics.registry.getMetricsAsJSON()).some((m) => m.name === 'herald_notifications_total'), false);
  });
});
