import { MemoryDeviceRegistry } from '../../src/devices/memory-device-registry.js';
import { PruneInvalidTokens } from '../../src/devices/prune-invalid-tokens.js';
import { EventBus } from '../../src/events.js';
import type { HeraldEvents } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { subscribeWebhookEvents } from '../../src/webhooks/webhook-event.js';
import type { WebhookEvent } from '../../src/webhooks/webhook-event.js';

/**
 * Pruning on a memory registry, with what it announces collected: `device.removed` events,
 * the webhook events they become, and the removal counter of app `shop` by reason.
 * A subscriber that throws fails the test.
 */
export async function startPruning() {
  const events = new EventBus((event, err) => {
    throw new Error(`subscriber of ${event} failed: ${String(err)}`);
  });
  const registry = new MemoryDeviceRegistry();
  const metrics = createMetrics({ defaults: false });
  const pruning = new PruneInvalidTokens({ events, registry, metrics, log: silentLogger() });
  await pruning.start();
  const removed: Array<HeraldEvents['device.removed']> = [];
  events.on('device.removed', (e) => removed.push(e));
  const hooks: Array<{ app: string; event: WebhookEvent }> = [];
  subscribeWebhookEvents(events, (app, event) => hooks.push({ app, event }));
  const counted = async (reason: string): Promise<number> =>
    (await metrics.devicesRemoved.get()).values.find((v) => v.labels.app === 'shop' && v.labels.reason === reason)?.value ?? 0;
  return { events, registry, pruning, removed, hooks, counted };
}
