import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryDeviceRegistry } from '../../src/devices/memory-device-registry.js';
import { PruneInvalidTokens } from '../../src/devices/prune-invalid-tokens.js';
import { EventBus } from '../../src/events.js';
import type { HeraldEvents } from '../../src/events.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { REFUSALS_BEFORE_UNHEALTHY } from '../../src/providers/webpush/webpush-provider.js';
import { waitFor } from '../helpers/wait.js';
import { startHarness } from './webpush-harness.js';
import type { WebPushHarness } from './webpush-harness.js';

describe('Web Push provider and the device registry', () => {
  let h: WebPushHarness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h?.close());

  it('a 410 for a registered subscription removes the device; the same token re-subscribed elsewhere since is kept', async () => {
    const gone = h.mock.subscribe();
    const renewedOld = h.mock.subscribe();
    const renewedNew = h.mock.subscribe();
    h.mock.unsubscribe(gone.id);
    h.mock.unsubscribe(renewedOld.id);
    const registry = new MemoryDeviceRegistry();
    // Registered as the HTTP route stores them: PushSubscription.toJSON() as the browser gave it.
    await registry.put('app1', { token: 't0', userId: '1', platform: 'web', interests: [], subscription: gone.json, updatedAt: 1 });
    await registry.put('app1', { token: 't1', userId: '2', platform: 'web', interests: [], subscription: renewedNew.json, updatedAt: 1 });
    const events = new EventBus();
    const pruning = new PruneInvalidTokens({ events, registry, metrics: createMetrics({ defaults: false }), log: silentLogger() });
    await pruning.start();
    const removed: Array<HeraldEvents['device.removed']> = [];
    events.on('device.removed', (e) => removed.push(e));

    const before = h.invalid.length;
    // t1 was sent to its old subscription (resolved before the browser re-subscribed).
    const results = await h.send([gone, renewedOld]);
    assert.deepEqual(results.map((r) => r.outcome.type === 'rejected' && r.outcome.reason), ['Gone', 'Gone']);
    const raised = h.invalid.slice(before);
    assert.deepEqual(raised.map((e) => [e.token, e.endpoint]).sort(), [['t0', gone.json.endpoint], ['t1', renewedOld.json.endpoint]]);
    for (const e of raised) events.emit('webpush.subscription_invalid', e);
    await pruning.stop(AbortSignal.timeout(2_000));
    assert.deepEqual(removed, [{ app: 'app1', token: 't0', userId: '1', reason: 'Gone' }]);
    assert.equal(await registry.get('app1', 't0'), undefined);
    assert.equal((await registry.get('app1', 't1'))?.subscription?.endpoint, renewedNew.json.endpoint);
  });

  it('herald_push_credentials_ok{provider="webpush"} drops to 0 and refusedCredentials() names the app after 20 VAPID refusals in a row, and a delivery restores it', async () => {
    assert.equal(await h.metric('pushCredentialsOk', { provider: 'webpush', app: 'app1' }), 1);
    const otherKey = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
    const refused = Array.from({ length: REFUSALS_BEFORE_UNHEALTHY - 1 }, () => h.mock.subscribe({ applicationServerKey: otherKey }));
    await h.send(refused);
    assert.equal(await h.metric('pushCredentialsOk', { provider: 'webpush', app: 'app1' }), 1, 'one short of the threshold');
    assert.deepEqual(h.provider.refusedCredentials(), []);
    await h.send([h.mock.subscribe({ applicationServerKey: otherKey })]);
    assert.equal(await h.metric('pushCredentialsOk', { provider: 'webpush', app: 'app1' }), 0);
    assert.deepEqual(h.provider.refusedCredentials().map((r) => r.app), ['app1']);
    assert.match(h.provider.refusedCredentials()[0]?.detail ?? '', /^VAPID refused 20 times in a row/);
    const results = await h.send([h.mock.subscribe({ applicationServerKey: h.vapid.publicKey })]);
    assert.equal(results[0]?.outcome.type, 'delivered');
    await waitFor(async () => (await h.metric('pushCredentialsOk', { provider: 'webpush', app: 'app1' })) === 1 || undefined, { what: 'the gauge back at 1' });
    assert.deepEqual(h.provider.refusedCredentials(), []);
  });
});
