import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver } from '../integration/webhooks-receiver.js';
import type { WebhookReceiver } from '../integration/webhooks-receiver.js';
import { FaultHarness, deviceToken, ledger, report } from './fault-harness.js';

// A webhook receiver that accepts connections and never answers. Deliveries time out,
// are retried, and end in the dead-letter list; notifications themselves are unaffected;
// once the receiver answers again, replaying the dead letters delivers every event.

const NOTIFICATIONS = 5;
const TOKENS_EACH = 200;
const MAX_ATTEMPTS = 3;

describe('fault: a webhook receiver that hangs', () => {
  let mock: ApnsMock;
  let receiver: WebhookReceiver;
  let h: FaultHarness;
  before(async () => {
    const credentials = await testCredentials();
    mock = await ApnsMock.start({ credentials, auth: 'certificate' });
    receiver = await startWebhookReceiver();
    receiver.setMode({ type: 'hang' });
    h = new FaultHarness({
      credentials,
      mock,
      webhooks: { timeoutMs: 300, maxAttempts: MAX_ATTEMPTS, backoffBaseMs: 100, backoffMaxMs: 200, batchMs: 0 },
      appWebhooks: [{ url: receiver.url, events: ['notification_completed'] }],
    });
    await h.start();
  });
  after(async () => {
    await h.stop();
    await receiver.close();
    await mock.close();
  });

  it('notifications complete, webhooks time out into the dead-letter list, and a replay delivers them all', async () => {
    const batches = Array.from({ length: NOTIFICATIONS }, (_, i) => ({ id: `hook-${i}`, tokens: Array.from({ length: TOKENS_EACH }, deviceToken) }));
    for (const { id, tokens } of batches) assert.equal(await h.notify(id, tokens), 202);
    for (const { id } of batches) assert.equal((await h.finished(id)).state, 'completed', id);

    await waitFor(async () => (await h.metric('herald_webhook_deliveries_total', { status: 'dead' })) >= 1, { timeoutMs: 30_000, what: 'a webhook batch to be dead-lettered' });
    const deadLetters = await waitFor(async () => {
      const listed = await h.api('GET', '/webhooks/dead-letters');
      const carried = new Set(((listed.body.deadLetters as Array<{ body: string }> | undefined) ?? []).flatMap((d) => completedIds(d.body)));
      return batches.every((b) => carried.has(b.id)) ? (listed.body.count as number) : undefined;
    }, { timeoutMs: 60_000, what: 'every notification_completed event in the dead-letter list' });
    const attemptsWhileHanging = receiver.received.length;
    assert.equal(h.herald.child.exitCode, null, 'process up');
    assert.deepEqual(await h.readiness(), { ready: true, failing: [] }, 'a hanging receiver is not a reason to take Herald out of service');
    assert.equal(receiver.accepted().length, 0);
    assert.ok(attemptsWhileHanging >= MAX_ATTEMPTS, `${attemptsWhileHanging} attempts`);

    receiver.setMode({ type: 'ok' });
    const replay = await h.api('POST', '/webhooks/dead-letters/replay', {});
    assert.equal(replay.status, 200);
    await waitFor(() => {
      const delivered = new Set(receiver.accepted().flatMap((w) => completedIds(w.rawBody)));
      return batches.every((b) => delivered.has(b.id));
    }, { timeoutMs: 30_000, what: 'every notification_completed webhook after the replay' });
    await waitFor(async () => (await h.metric('herald_webhook_dead_letters')) === 0, { what: 'the dead-letter gauge to empty' });

    const counts = ledger(mock, batches.flatMap((b) => b.tokens));
    report('webhook-hang', counts, { webhookAttemptsWhileHanging: attemptsWhileHanging, deadLetters, replayed: replay.body.replayed, webhooksDelivered: receiver.accepted().length });
    assert.equal(counts.missing, 0);
    assert.equal(counts.acceptedTwice, 0);
  });
});

/** notification ids of the notification_completed events in a Pusher webhook body. */
function completedIds(body: string): string[] {
  const parsed = JSON.parse(body) as { events?: Array<{ name?: string; notification_id?: string }> };
  return (parsed.events ?? []).filter((e) => e.name === 'notification_completed').map((e) => e.notification_id ?? '');
}
