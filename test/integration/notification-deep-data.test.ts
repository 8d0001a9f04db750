import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MAX_JSON_DEPTH } from '../../src/lib/json-depth.js';
import { metricValue } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { PipelineHarness, pushApp } from './pipeline-harness.js';

// Regression: realtime.data nested a few thousand deep passed validation, then made
// JSON.stringify throw RangeError: HTTP answered 503 "queue unavailable" instead of 400,
// and the same data in a job added straight to BullMQ was retried instead of failed.

/** A notification body whose realtime.data is `depth` arrays inside one another, as raw JSON. */
function nestedBody(depth: number, id?: string): string {
  const head = `{"v":1,"app":"${pushApp.id}",${id === undefined ? '' : `"id":"${id}",`}"realtime":{"channels":["deep"],"event":"e","data":`;
  return `${head}${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}

/** The body object is level 1, realtime 2, data 3: data nested this deep makes the body exactly the limit. */
const DATA_DEPTH_AT_LIMIT = MAX_JSON_DEPTH - 2;

describe('deeply nested caller data (embedded)', () => {
  let h: PipelineHarness;
  before(async () => {
    h = await PipelineHarness.start('memory');
  });
  after(async () => {
    await h.stop();
  });

  it('answers 400 with the path of the first value too deep, not 503, and counts it', async () => {
    const before = await metricValue(h.herald.metricsPort, 'herald_input_limit_refusals_total', { reason: 'json_depth', type: 'http' });
    const answer = await h.api('POST', '/notifications', nestedBody(5_000));
    assert.equal(answer.status, 400, JSON.stringify(answer.body).slice(0, 300));
    assert.match(String(answer.body.error), /nests deeper than 64 levels/);
    assert.equal(answer.body.path, `realtime.data${'[0]'.repeat(DATA_DEPTH_AT_LIMIT)}`);
    assert.equal(await metricValue(h.herald.metricsPort, 'herald_input_limit_refusals_total', { reason: 'json_depth', type: 'http' }), before + 1);
  });

  it('refuses an APNs payload too deep the same way, and brackets inside strings do not count', async () => {
    const deepPayload = `{"v":1,"app":"${pushApp.id}","apns":{"tokens":["${'ab'.repeat(32)}"],"payload":{"aps":{"alert":"x"},"k":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}}}`;
    const refused = await h.api('POST', '/notifications', deepPayload);
    assert.equal(refused.status, 400);
    assert.match(String(refused.body.path), /^apns\.payload\.k(\.a)+$/);
    const stringy = await h.api('POST', '/notifications', { v: 1, app: pushApp.id, realtime: { channels: ['deep'], event: 'e', data: { text: '[[[{{{'.repeat(100) } } });
    assert.equal(stringy.status, 202, JSON.stringify(stringy.body));
  });

  it('accepts and delivers data exactly at the limit', async () => {
    const answer = await h.api('POST', '/notifications', nestedBody(DATA_DEPTH_AT_LIMIT, 'deep-at-limit'));
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const status = await h.finished('deep-at-limit');
    assert.equal(status.state, 'completed');
    assert.equal(await h.api('POST', '/notifications', nestedBody(DATA_DEPTH_AT_LIMIT + 1)).then((a) => a.status), 400);
  });
});

describe('deeply nested caller data (BullMQ job from another producer)', () => {
  let h: PipelineHarness;
  before(async () => {
    h = await PipelineHarness.start('redis', { queue: { maxAttempts: 3 } });
  });
  after(async () => {
    await h.stop();
  });

  /** BullMQ's own add() would serialise the data in this process: the job hash is written raw instead, then promoted. */
  async function addRawJob(jobId: string, rawData: string): Promise<Queue> {
    const url = h.redis?.url ?? '';
    const queue = new Queue('notifications', { connection: { url }, prefix: h.prefix });
    const job = await queue.add('notify', { placeholder: true }, { jobId, delay: 3_600_000 });
    const redis = new Redis(url);
    try {
      await redis.hset(`${h.prefix}:notifications:${jobId}`, 'data', rawData);
    } finally {
      redis.disconnect();
    }
    await job.promote();
    return queue;
  }

  it('fails the job at once with the reason and the path, never retried, and records the notification as failed', async () => {
    const invalidBefore = await metricValue(h.herald.metricsPort, 'herald_invalid_jobs_total');
    const queue = await addRawJob('deep-job', nestedBody(5_000, 'deep-job'));
    try {
      // The state first, then the job: a job read before it failed carries no failedReason.
      const job = await waitFor(async () => ((await queue.getJobState('deep-job')) === 'failed' ? queue.getJob('deep-job') : undefined), {
        timeoutMs: 20_000,
        what: 'the deep job to fail',
      });
      assert.match(job.failedReason, /nests deeper than 64 levels/);
      assert.equal(job.attemptsMade, 1, 'failed on its first attempt');
      const status = await h.finished('deep-job');
      assert.equal(status.state, 'failed');
      assert.match(String(status.error), /realtime\.data(\[0\])+: nests deeper than 64 levels/);
      assert.ok(await metricValue(h.herald.metricsPort, 'herald_invalid_jobs_total') >= invalidBefore + 1);
      assert.equal(await metricValue(h.herald.metricsPort, 'herald_input_limit_refusals_total', { reason: 'json_depth', type: 'job' }), 1);
      assert.equal(await metricValue(h.herald.metricsPort, 'herald_notifications_finished_total', { app: pushApp.id, state: 'failed' }) >= 1, true);
      assert.deepEqual(h.herald.logs().filter((line) => line.msg === 'notification job handler failed'), [], 'no handler threw');
    } finally {
      await queue.close();
    }
  });
});
