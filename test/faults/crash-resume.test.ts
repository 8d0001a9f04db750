import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHECKPOINT_WINDOW } from '../../src/delivery/send-budget.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { PipelineHarness, deviceToken, pushApp } from '../integration/pipeline-harness.js';

const TOKENS = 20_000;
/** The app's APNs stream limit: requests in flight at any moment. */
const MAX_STREAMS = 100;
/**
 * What a kill can leave unrecorded: Herald hands an app's tokens to APNs only while fewer
 * than this many have an unrecorded outcome (streams in flight plus results on their way
 * to the checkpoint).
 */
const IN_FLIGHT_BOUND = MAX_STREAMS + CHECKPOINT_WINDOW;

describe('a worker killed with SIGKILL mid-batch', () => {
  let redis: TestRedis;
  let mock: ApnsMock;
  let h: PipelineHarness;
  before(async () => {
    redis = await startRedis();
    // A little latency keeps requests in flight, as Apple's would be.
    mock = await ApnsMock.start({ credentials: await testCredentials(), auth: 'certificate', latencyMs: 5 });
    h = await PipelineHarness.start('redis', {
      redis,
      mock,
      queue: { chunkSize: 500, concurrency: 4, maxNotificationBytes: 8 * 1024 * 1024 },
      apns: { maxConcurrentStreams: MAX_STREAMS, connections: 1 },
    });
  });
  after(async () => {
    await h.stop();
    await mock.close();
    await redis.stop();
  });

  it('resumes on restart: every token delivered, re-sent only within the in-flight bound', async () => {
    const tokens = Array.from({ length: TOKENS }, () => deviceToken());
    const wanted = new Set(tokens);
    const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: 'crash-20k', apns: { tokens, payload: { aps: { alert: 'hello' } } } });
    assert.equal(res.status, 202);

    await waitFor(() => mock.requests.length >= TOKENS / 4, { timeoutMs: 60_000, what: 'a quarter of the tokens sent' });
    const killed = h.herald;
    const killedAt = Date.now();
    await killed.stop('SIGKILL');
    const sentBeforeKill = mock.requests.length;
    const inFlightAtKill = mock.requests.filter((r) => r.at <= killedAt && (r.answeredAt === undefined || r.answeredAt >= killedAt)).length;
    assert.ok(sentBeforeKill < TOKENS, `killed mid-batch (${sentBeforeKill} of ${TOKENS} sent)`);

    await h.startDaemon();
    const status = await h.finished('crash-20k', 90_000);
    assert.equal(status.state, 'completed');
    assert.deepEqual({ sent: status.apns.sent, failed: status.apns.failed, pending: status.apns.pending }, { sent: TOKENS, failed: 0, pending: 0 });

    const seen = new Map<string, number>();
    for (const request of mock.requests) if (wanted.has(request.token)) seen.set(request.token, (seen.get(request.token) ?? 0) + 1);
    const missing = tokens.filter((token) => !seen.has(token)).length;
    const twice = [...seen.values()].filter((count) => count > 1).length;
    const moreThanTwice = [...seen.values()].filter((count) => count > 2).length;
    console.log(
      `crash-resume: ${sentBeforeKill} requests before the kill, ${inFlightAtKill} of them unanswered at the kill; ` +
        `tokens seen twice: ${twice}; in-flight bound: ${IN_FLIGHT_BOUND} (${MAX_STREAMS} streams + ${CHECKPOINT_WINDOW} unrecorded results); tokens missing: ${missing}`,
    );
    assert.equal(missing, 0, 'every token reached APNs at least once');
    assert.equal(moreThanTwice, 0);
    assert.ok(twice <= IN_FLIGHT_BOUND, `${twice} tokens were sent twice, more than the in-flight bound ${IN_FLIGHT_BOUND}`);
  });
});
