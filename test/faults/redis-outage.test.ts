import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CHECKPOINT_WINDOW } from '../../src/notifications/pipeline/send-budget.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import { FaultHarness, deviceToken, ledger, report } from './fault-harness.js';

// Redis killed (SIGKILL, a crash) and restarted on the same data while Herald is
// accepting and while it is delivering. Herald stays up, reports not ready while Redis
// is gone, resumes by itself, and loses nothing it answered 202 for.

const MAX_STREAMS = 50;
/** What a lost Redis can leave unrecorded: requests in flight plus results on their way to the checkpoint. */
const UNRECORDED_BOUND = MAX_STREAMS + CHECKPOINT_WINDOW;

let credentials: TestCredentials;
let redis: TestRedis;
let mock: ApnsMock;
let h: FaultHarness;

interface Outage {
  notReady: string[];
  killedAt: number;
  restartedAt: number;
}

async function outage(during: () => Promise<void>): Promise<Outage> {
  const killedAt = Date.now();
  await redis.kill();
  const down = await waitFor(async () => {
    const r = await h.readiness().catch(() => undefined);
    return r && !r.ready ? r : undefined;
  }, { timeoutMs: 20_000, what: '/ready to report the outage' });
  await during();
  assert.equal(h.herald.child.exitCode, null, 'the process stays up while Redis is down');
  await redis.restart();
  const restartedAt = Date.now();
  await waitFor(async () => (await h.readiness().catch(() => undefined))?.ready, { timeoutMs: 30_000, what: '/ready to recover' });
  return { notReady: down.failing, killedAt, restartedAt };
}

/**
 * The re-sends a Redis crash may cost: tokens whose outcome was unrecorded when Redis died
 * (in flight, or answered but not yet checkpointed: the send budget) plus tokens sent while
 * Redis was gone, whose outcome nothing could record. Anything above is a recorded token sent again.
 */
function resendAllowance(tokens: readonly string[], window: Outage): { sentWhileDown: number; allowance: number } {
  const wanted = new Set(tokens);
  const sentWhileDown = mock.requests.filter((r) => wanted.has(r.token) && r.at >= window.killedAt && r.at <= window.restartedAt).length;
  return { sentWhileDown, allowance: UNRECORDED_BOUND + sentWhileDown };
}

describe('fault: Redis killed and restarted', () => {
  beforeEach(async () => {
    credentials = await testCredentials();
    redis = await startRedis({ persist: true });
    mock = await ApnsMock.start({ credentials, auth: 'certificate', latencyMs: 10 });
    h = new FaultHarness({ credentials, mock, redis, apns: { maxConcurrentStreams: MAX_STREAMS } });
    await h.start();
  });
  afterEach(async () => {
    await h.stop();
    await mock.close();
    await redis.stop();
  });

  it('during enqueue: every 202 is delivered; refusals say so and succeed when retried', async () => {
    const answers = new Map<string, { status: number; tokens: string[] }>();
    let n = 0;
    let slowest = 0;
    const post = async (): Promise<number> => {
      const id = `enq-${n++}`;
      const tokens = Array.from({ length: 50 }, deviceToken);
      const t = Date.now();
      const status = await h.notify(id, tokens, 120_000).catch(() => 0);
      if (status !== 202) slowest = Math.max(slowest, Date.now() - t);
      answers.set(id, { status, tokens });
      return status;
    };
    while ([...answers.values()].filter((a) => a.status === 202).length < 10) await post();
    const window = await outage(async () => {
      // Producers keep sending while Redis is gone; each gets an answer (bounded wait), none is accepted.
      const during = await Promise.all(Array.from({ length: 10 }, post));
      assert.deepEqual(during.filter((status) => status === 202), [], 'nothing is accepted without Redis');
    });
    for (let i = 0; i < 10; i++) await post();

    const refused = [...answers].filter(([, a]) => a.status !== 202);
    for (const [id, a] of refused) {
      assert.equal(a.status, 503, `${id}: refused with 503`);
      const retry = await h.notify(id, a.tokens);
      assert.ok(retry === 202 || retry === 200, `${id}: the producer's retry is accepted (${retry})`);
    }
    for (const id of answers.keys()) {
      // A job active when Redis died waits for BullMQ's stalled-job check before it runs again.
      const done = await h.finished(id, 120_000).catch(async (err: Error) => {
        throw new Error(`${err.message}; status ${JSON.stringify(await h.status(id))}`);
      });
      assert.equal(done.state, 'completed', id);
    }
    const tokens = [...answers.values()].flatMap((a) => a.tokens);
    const counts = ledger(mock, tokens);
    const { sentWhileDown, allowance } = resendAllowance(tokens, window);
    report('redis-killed-during-enqueue', counts, { notifications: answers.size, refusedWhileDown: refused.length, slowestRefusalMs: slowest, notReady: window.notReady, sentWhileDown, allowance });
    assert.ok(window.notReady.includes('redis'), `the redis check fails during the outage (${window.notReady.join(', ')})`);
    assert.equal(counts.missing, 0, 'no accepted token lost');
    assert.ok(counts.acceptedTwice <= allowance, `${counts.acceptedTwice} tokens accepted twice; allowance ${allowance}`);
  });

  // Regression: failed checkpoint writes gave their tokens back to the send budget, so sending
  // went on while Redis was gone and every such token was sent again (0–314 against 114).
  it('during delivery: every token delivered after Redis returns; sends while Redis is gone and re-sends within the send budget', async () => {
    const batches = Array.from({ length: 4 }, (_, i) => ({ id: `dlv-${i}`, tokens: Array.from({ length: 2_000 }, deviceToken) }));
    for (const { id, tokens } of batches) assert.equal(await h.notify(id, tokens), 202);
    const all = batches.flatMap((b) => b.tokens);
    await waitFor(() => mock.requests.length >= all.length / 5, { timeoutMs: 60_000, what: 'a fifth of the tokens sent' });
    const window = await outage(async () => {
      await waitFor(async () => (await h.metric('herald_redis_connected')) === 0, { what: 'herald_redis_connected to drop' });
    });
    for (const { id } of batches) {
      const status = await h.finished(id, 120_000);
      assert.equal(status.state, 'completed', id);
      assert.equal(status.apns.sent, 2_000, `${id}: all sent`);
    }
    const counts = ledger(mock, all);
    const { sentWhileDown, allowance } = resendAllowance(all, window);
    report('redis-killed-during-delivery', counts, { notReady: window.notReady, sentWhileDown, budget: UNRECORDED_BOUND, allowance });
    assert.ok(window.notReady.includes('redis'));
    assert.equal(counts.missing, 0, 'no accepted token lost');
    // Tokens whose outcome could not be recorded hold the budget until Redis is back: no more go out.
    assert.ok(sentWhileDown <= UNRECORDED_BOUND, `${sentWhileDown} tokens sent while Redis was gone; budget ${UNRECORDED_BOUND}`);
    assert.ok(counts.acceptedTwice <= UNRECORDED_BOUND, `${counts.acceptedTwice} tokens accepted twice; budget ${UNRECORDED_BOUND}`);
    assert.equal(h.herald.child.exitCode, null);
  });
});
