import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, metricValue } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

// One anonymous socket subscribing and unsubscribing in a loop used to turn every
// flap into channel_occupied + channel_vacated webhook events (hundreds of jobs, each
// retried, while the receiver was down). Within the occupancy window they cancel out.

const app = { id: 'app-churn', key: 'key-churn', secret: 'secret-churn-0001' };
const FLAPS = 200;

describe('occupancy webhooks under subscribe/unsubscribe churn', () => {
  let herald: HeraldProcess;
  let receiver: WebhookReceiver;
  let client: RawClient | undefined;

  before(async () => {
    receiver = await startWebhookReceiver();
    herald = await startHeraldProcess({
      config: { webhooks: { batchMs: 20 }, apps: [{ ...app, webhooks: [{ url: receiver.url, events: ['channel_occupied', 'channel_vacated'] }] }] },
    });
  });
  after(async () => {
    await client?.close();
    await herald?.stop();
    await receiver?.close();
  });

  it(`${FLAPS} subscribe/unsubscribe flaps of one channel become at most a few webhook events, the rest counted as coalesced`, async () => {
    ({ client } = await RawClient.connect(herald.httpPort, app.key));
    const socket = client;
    for (let i = 0; i < FLAPS; i++) {
      const from = socket.mark();
      socket.send({ event: 'pusher:subscribe', data: { channel: 'churn' } });
      await socket.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'churn', { from });
      socket.send({ event: 'pusher:unsubscribe', data: { channel: 'churn' } });
    }
    // A channel that stays: its channel_occupied arriving means the churn's windows have closed too.
    const from = socket.mark();
    socket.send({ event: 'pusher:subscribe', data: { channel: 'stays' } });
    await socket.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'stays', { from });
    await waitFor(() => acceptedEvents(receiver).some((e) => e.channel === 'stays'), { what: 'channel_occupied of the channel that stays' });

    const churn = acceptedEvents(receiver).filter((e) => e.channel === 'churn');
    console.log(`${FLAPS} flaps → ${churn.length} churn events in ${receiver.received.length} POSTs`);
    // Each window closes on a net state: at most an occupied and a vacated per window the churn spanned.
    assert.ok(churn.length <= 6, `${churn.length} churn events: ${JSON.stringify(churn.slice(0, 10))}`);
    churn.forEach((e, i) => assert.equal(e.name, i % 2 === 0 ? 'channel_occupied' : 'channel_vacated', 'occupied and vacated alternate'));
    assert.equal(churn.length % 2, 0, 'the churn channel ends vacated');
    const coalesced = await metricValue(herald.metricsPort, 'herald_webhook_occupancy_events_total', { app: app.id, status: 'coalesced' });
    assert.equal(coalesced + churn.length, 2 * FLAPS);
  });
});
