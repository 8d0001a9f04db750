import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHECKPOINT_WINDOW } from '../../src/notifications/pipeline/send-budget.js';
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

describe('a worker stopped with SIGTERM mid-batch', () => {
  let redis: TestRedis;
  let mock: ApnsMock;
  let h: PipelineHarness;
  before(async () => {
    redis = await startRedis();
    // Slow answers, so the grace period ends while chunks are still sending.
    mock = await ApnsMock.start({ credentials: await testCredentials(), auth: 'certificate', latencyMs: 50 });
    h = await PipelineHarness.start('redis', {
      redis,
      mock,
      server: { shutdownGraceMs: 300 },
      queue: { chunkSize: 500, concurrency: 4, maxNotificationBytes: 8 * 1024 * 1024 },
      apns: { maxConcurrentStreams: MAX_STREAMS, connections: 1 },
    });
  });
  after(async () => {
    await h.stop();
    await mock.close();
    await redis.stop();
  });

  it('exits 0 having handed its running chunks back, and a restarted worker finishes them', async () => {
    const tokens = Array.from({ length: 3_000 }, () => deviceToken());
    const wanted = new Set(tokens);
    const res = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, id: 'sigterm-3k', apns: { tokens, payload: { aps: { alert: 'hello' } } } });
    assert.equal(res.status, 202);
    await waitFor(() => mock.requests.length >= 300, { timeoutMs: 30_000, what: 'sending under way' });

    assert.equal(await h.herald.stop('SIGTERM'), 0);
    assert.ok(h.herald.logs().some((line) => line.msg === 'stopped'));
    const sentBeforeStop = new Set(mock.requests.map((r) => r.token)).size;
    assert.ok(sentBeforeStop < tokens.length, `stopped mid-batch (${sentBeforeStop} of ${tokens.length} sent)`);
    const chunks = await h.jobCounts('notification-chunks');
    assert.equal(chunks.active, 0, 'no chunk left locked by the stopped worker');
    assert.equal(chunks.failed, 0);
    assert.ok((chunks.waiting ?? 0) + (chunks.delayed ?? 0) > 0, 'unfinished chunks are back in the queue');

    await h.startDaemon();
    const status = await h.finished('sigterm-3k', 60_000);
    assert.deepEqual({ state: status.state, sent: status.apns.sent, pending: status.apns.pending }, { state: 'completed', sent: tokens.length, pending: 0 });
    const seen = new Map<string, number>();
    for (const request of mock.requests) if (wanted.has(request.token)) seen.set(request.token, (seen.get(request.token) ?? 0) + 1);
    assert.equal(seen.size, tokens.length);
    const twice = [...seen.values()].filter((count) => count > 1).length;
    console.log(`sigterm-resume: ${sentBeforeStop} tokens sent before the stop; tokens seen twice: ${twice}; in-flight bound: ${IN_FLIGHT_BOUND}`);
    assert.ok(twice <= IN_FLIGHT_BOUND);
  });
});
