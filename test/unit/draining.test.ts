import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushResult } from '../../src/providers/provider.js';
import { Draining } from '../../src/providers/shared/draining.js';

/** A batch whose results come when the test says: `finish()` ends it. */
function pendingBatch(): { results: AsyncIterable<PushResult>; finish(): void } {
  let finish = (): void => {};
  const ended = new Promise<void>((resolve) => (finish = resolve));
  return {
    finish,
    results: (async function* () {
      await ended;
      yield { token: 't', index: 0, outcome: { type: 'delivered' } } as PushResult;
    })(),
  };
}

async function drain(results: AsyncIterable<PushResult>): Promise<number> {
  let count = 0;
  for await (const _ of results) count += 1;
  return count;
}

/** A batch holding `uses` from now until its results end, as a provider's BatchRun does. */
function track(draining: Draining, uses: readonly object[], results: AsyncIterable<PushResult>): AsyncIterable<PushResult> {
  const release = draining.hold(uses);
  return (async function* () {
    try {
      yield* results;
    } finally {
      release();
    }
  })();
}

// What a reload replaced is kept until the batches using it end (shared by the APNs, FCM and Web Push providers).
describe('Draining', () => {
  const errors: unknown[] = [];
  const onError = (err: unknown): void => void errors.push(err);

  it('retires a thing no batch uses at once, before retire() returns', () => {
    const draining = new Draining(onError);
    const ended: string[] = [];
    draining.retire({}, () => void ended.push('pool'), 1_000);
    assert.deepEqual(ended, ['pool']);
  });

  it('retires a thing once the last of the batches using it ends, and only then', async () => {
    const draining = new Draining(onError);
    const pool = {};
    const app = {};
    const first = pendingBatch();
    const second = pendingBatch();
    const running = [track(draining, [pool, app], first.results), track(draining, [pool], second.results)].map(drain);
    assert.equal(draining.using(pool), 2);
    const ended: string[] = [];
    draining.retire(pool, () => void ended.push('pool'), 1_000);
    draining.retire(app, () => void ended.push('app'), 0);
    assert.deepEqual(ended, []);

    first.finish();
    assert.equal(await running[0], 1, 'the batch’s results pass through');
    assert.deepEqual(ended, ['app'], 'the app had one batch; the pool still has one');
    second.finish();
    await running[1];
    assert.deepEqual(ended, ['app', 'pool']);
    assert.equal(draining.using(pool), 0);
  });

  it('closes everything still waiting at shutdown with the shutdown deadline, and waits for every close', async () => {
    const draining = new Draining(onError);
    const pool = {};
    const batch = pendingBatch();
    const running = drain(track(draining, [pool], batch.results));
    const shutdown = new AbortController();
    let given: AbortSignal | undefined;
    let closes = 0;
    let closed = false;
    draining.retire(
      pool,
      async (deadline) => {
        given = deadline;
        closes += 1;
        await Promise.resolve();
        closed = true;
      },
      60_000,
    );
    await draining.closeAll(shutdown.signal);
    assert.equal(given, shutdown.signal);
    assert.equal(closed, true);
    // The batch ending later closes nothing twice.
    batch.finish();
    await running;
    assert.equal(closes, 1);
    assert.deepEqual(errors, []);
  });

  it('reports a close that fails instead of throwing it at the batch', async () => {
    const failures: unknown[] = [];
    const draining = new Draining((err) => failures.push(err));
    const batch = pendingBatch();
    const running = drain(track(draining, [draining], batch.results));
    draining.retire(draining, () => Promise.reject(new Error('GOAWAY failed')), 1_000);
    batch.finish();
    assert.equal(await running, 1);
    await draining.closeAll(AbortSignal.timeout(1_000));
    assert.deepEqual(failures.map((err) => (err as Error).message), ['GOAWAY failed']);
  });
});
