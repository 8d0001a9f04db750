import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { FaultHarness, deviceToken, ledger, report } from './fault-harness.js';

// SIGTERM in the middle of a large batch: the process reports not ready, finishes the
// APNs requests it has in flight, hands the rest back to the queue and exits 0. A
// restarted process finishes the work: every token delivered, none accepted twice.

const NOTIFICATIONS = 5;
const TOKENS_EACH = 2_000;

describe('fault: SIGTERM during a batch', () => {
  let redis: TestRedis;
  let mock: ApnsMock;
  let h: FaultHarness;
  before(async () => {
    const credentials = await testCredentials();
    redis = await startRedis({ persist: true });
    // Latency keeps requests in flight at the moment of the signal, as Apple's would be.
    mock = await ApnsMock.start({ credentials, auth: 'certificate', latencyMs: 20 });
    h = new FaultHarness({ credentials, mock, redis, server: { drainDelayMs: 1_000 } });
    await h.start();
  });
  after(async () => {
    await h.stop();
    await mock.close();
    await redis.stop();
  });

  it('drains, exits 0 with nothing in flight, and the restarted process delivers every token once', async () => {
    const batches = Array.from({ length: NOTIFICATIONS }, (_, i) => ({ id: `drain-${i}`, tokens: Array.from({ length: TOKENS_EACH }, deviceToken) }));
    for (const { id, tokens } of batches) assert.equal(await h.notify(id, tokens), 202);
    const all = batches.flatMap((b) => b.tokens);
    await waitFor(() => mock.requests.length >= all.length / 5, { timeoutMs: 60_000, what: 'a fifth of the tokens sent' });

    const draining = h.herald;
    draining.child.kill('SIGTERM');
    const seen = await waitFor(async () => {
      const r = await h.readiness().catch(() => undefined);
      return r && !r.ready ? r : undefined;
    }, { timeoutMs: 5_000, what: '/ready to fail while draining' });
    assert.ok(seen.failing.includes('shutdown'), `failing checks while draining: ${seen.failing.join(', ')}`);
    const code = await draining.exited;
    assert.equal(code, 0, 'exit code after SIGTERM');
    const sentBeforeExit = mock.requests.length;
    const unanswered = mock.requests.filter((r) => r.answeredAt === undefined).length;
    assert.equal(unanswered, 0, 'every request in flight at the signal was finished before exit');
    assert.ok(sentBeforeExit < all.length, `the signal came mid-batch (${sentBeforeExit} of ${all.length} sent)`);

    await h.start();
    assert.deepEqual(await h.readiness(), { ready: true, failing: [] });
    for (const { id } of batches) {
      const status = await h.finished(id, 120_000);
      assert.equal(status.state, 'completed', id);
      assert.deepEqual({ sent: status.apns.sent, failed: status.apns.failed, pending: status.apns.pending }, { sent: TOKENS_EACH, failed: 0, pending: 0 });
    }
    const counts = ledger(mock, all);
    report('sigterm-drain', counts, { sentBeforeExit, exitCode: code });
    assert.equal(counts.missing, 0, 'no accepted token lost');
    assert.equal(counts.acceptedTwice, 0, 'no token accepted twice');
    assert.equal(counts.sentTwice, 0, 'a graceful drain re-sends nothing');
  });
});
