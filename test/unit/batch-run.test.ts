import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushOutcome, PushResult } from '../../src/providers/provider.js';
import { BatchRun } from '../../src/providers/shared/batch-run.js';
import type { AttemptSink, AttemptVerdict, BatchItem, TokenSender } from '../../src/providers/shared/batch-run.js';
import { CredentialGate } from '../../src/providers/shared/credential-gate.js';
import { ConcurrencyLimiter } from '../../src/providers/shared/limiter.js';

// The batch loop every provider shares, driven through a fake sender whose requests the
// test answers (`settle`) when it chooses, on a real ConcurrencyLimiter.

const BAD: PushOutcome = { type: 'rejected', reason: 'BadDeviceToken', invalidToken: true };

function delivered(token: string): PushOutcome {
  return { type: 'delivered', apnsId: `id-${token}` };
}

function outcome(token: string): AttemptVerdict {
  return { kind: 'outcome', outcome: delivered(token) };
}

/** In flight across every fake sender that shares it: the highest count seen. */
class Gauge {
  current = 0;
  max = 0;
  add(delta: number): void {
    this.current += delta;
    this.max = Math.max(this.max, this.current);
  }
}

interface Request {
  readonly item: BatchItem;
  readonly sink: AttemptSink<BatchItem>;
}

class FakeSender implements TokenSender<BatchItem> {
  /** Every `send`, in order (a resend appears again). */
  readonly sent: string[] = [];
  /** When each send happened, on the test's clock. */
  readonly sentAt: number[] = [];
  /** Requests sent and not settled yet, oldest first. */
  readonly unsettled: Request[] = [];
  /** The provider's in-flight gauge, as the run reports it. */
  readonly gauge: Gauge;
  /** The limiter's use seen at each send. */
  readonly inUseAtSend: number[] = [];
  /** Answers each request by itself (on a later turn) when set. */
  auto: ((item: BatchItem) => AttemptVerdict) | undefined;
  /** Tokens whose `send` throws, as a bug in a provider's sender would. */
  readonly sendThrows = new Set<string>();

  constructor(
    readonly limiter: ConcurrencyLimiter,
    readonly gate: CredentialGate | undefined = undefined,
    gauge?: Gauge,
    private readonly clock: () => number = Date.now,
  ) {
    this.gauge = gauge ?? new Gauge();
  }

  inFlight(delta: number): void {
    this.gauge.add(delta);
  }

  open(token: string, index: number): BatchItem | PushOutcome {
    if (token === 'bad') return BAD;
    return { index, token, lostOnce: false, dueAt: 0 };
  }

  send(item: BatchItem, sink: AttemptSink<BatchItem>): void {
    if (this.sendThrows.has(item.token)) throw new Error(`send bug on ${item.token}`);
    this.sent.push(item.token);
    this.sentAt.push(this.clock());
    this.inUseAtSend.push(this.limiter.inUse);
    const request = { item, sink };
    this.unsettled.push(request);
    const auto = this.auto;
    if (auto) setImmediate(() => this.answer(request, auto(item)));
  }

  /** Answers the oldest open request for `token`. */
  settle(token: string, verdict: AttemptVerdict | undefined = outcome(token)): void {
    const request = this.unsettled.find((r) => r.item.token === token);
    assert.ok(request, `no request in flight for ${token}`);
    this.answer(request, verdict);
  }

  private answer(request: Request, verdict: AttemptVerdict | undefined): void {
    this.unsettled.splice(this.unsettled.indexOf(request), 1);
    request.sink.settle(request.item, verdict);
  }
}

/** Counts the run's subscriptions to the limiter's resizes, and their ends. */
function spyResize(limiter: ConcurrencyLimiter): { subscribed: number; unsubscribed: number } {
  const counts = { subscribed: 0, unsubscribed: 0 };
  const original = limiter.onResize.bind(limiter);
  limiter.onResize = (listener) => {
    counts.subscribed += 1;
    const stop = original(listener);
    return () => {
      counts.unsubscribed += 1;
      stop();
    };
  };
  return counts;
}

/** Counts 'abort' listeners added to a fresh signal (abort-watch adds one per signal at its first watcher). */
function spyAbortListeners(signal: AbortSignal): { added: number } {
  const counts = { added: 0 };
  const original = signal.addEventListener.bind(signal);
  signal.addEventListener = ((type: string, ...rest: unknown[]) => {
    if (type === 'abort') counts.added += 1;
    return (original as (...args: unknown[]) => void)(type, ...rest);
  }) as AbortSignal['addEventListener'];
  return counts;
}

async function collect(results: AsyncIterable<PushResult>): Promise<PushResult[]> {
  const all: PushResult[] = [];
  for await (const result of results) all.push(result);
  return all;
}

function byIndex(results: readonly PushResult[]): PushResult[] {
  return [...results].sort((a, b) => a.index - b.index);
}

/** Resolves once `condition` holds, checked on every turn of the event loop; fails after `withinMs`. */
async function waitFor(condition: () => boolean, what: string, withinMs = 30_000): Promise<void> {
  const deadline = performance.now() + withinMs;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Whether the promise has settled, without waiting for it more than a turn. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

function counter(): { (): void; calls: number } {
  const fn = Object.assign(() => void (fn.calls += 1), { calls: 0 });
  return fn;
}

function setup(
  tokens: readonly string[],
  capacity: number | (() => number),
  options: { gauge?: Gauge; limiter?: ConcurrencyLimiter; gate?: CredentialGate; clock?: () => number } = {},
) {
  const limiter = options.limiter ?? new ConcurrencyLimiter(typeof capacity === 'number' ? () => capacity : capacity);
  const clock = options.clock ?? Date.now;
  const sender = new FakeSender(limiter, options.gate, options.gauge, clock);
  const job = new AbortController();
  const stopping = new AbortController();
  const run = new BatchRun(tokens, sender, job.signal, stopping.signal, clock);
  const onEnd = counter();
  return { limiter, sender, job, stopping, run, onEnd };
}

describe('BatchRun', () => {
  describe('a one-token batch', () => {
    it('yields the sender outcome, then ends once, its slot back, without watching capacity or the signals', async () => {
      const { limiter, sender, job, stopping, run, onEnd } = setup(['a'], 4);
      const resize = spyResize(limiter);
      const jobListeners = spyAbortListeners(job.signal);
      const stoppingListeners = spyAbortListeners(stopping.signal);
      const results = run.results(onEnd);

      const first = results.next();
      assert.deepEqual(sender.sent, ['a'], 'sent at the first pull');
      assert.equal(limiter.inUse, 1);
      assert.equal(await isSettled(first), false, 'no result before the answer');
      assert.equal(resize.subscribed, 0, 'a batch with nothing unsent does not watch the capacity');
      assert.equal(jobListeners.added, 0, 'nor the job signal');
      assert.equal(stoppingListeners.added, 0, 'nor the stopping signal');

      sender.settle('a');
      assert.deepEqual(await first, { done: false, value: { token: 'a', index: 0, outcome: delivered('a') } });
      assert.equal(onEnd.calls, 0, 'not ended before the consumer pulls again');
      assert.deepEqual(await results.next(), { done: true, value: undefined });
      assert.equal(onEnd.calls, 1);
      assert.equal(limiter.inUse, 0, 'the slot is back');
      assert.equal(sender.gauge.current, 0);
      assert.equal(sender.gauge.max, 1);
      assert.equal(resize.subscribed, 0);
    });

    it('that has to wait for a slot watches the capacity and the signals, and stops watching when it ends', async () => {
      const { limiter, sender, job, stopping, run, onEnd } = setup(['a'], 1);
      const resize = spyResize(limiter);
      const jobListeners = spyAbortListeners(job.signal);
      const stoppingListeners = spyAbortListeners(stopping.signal);
      assert.ok(limiter.tryAcquire(), 'another batch holds the only slot');

      const all = collect(run.results(onEnd));
      assert.deepEqual(sender.sent, [], 'no slot, nothing sent');
      assert.equal(resize.subscribed, 1, 'waiting with a token unsent: capacity watched');
      assert.equal(jobListeners.added, 1, 'and the job signal');
      assert.equal(stoppingListeners.added, 1, 'and the stopping signal');

      limiter.release();
      assert.deepEqual(sender.sent, ['a'], 'the released slot goes to the waiting batch at once');
      assert.equal(limiter.inUse, 1);
      sender.settle('a');
      assert.deepEqual(await all, [{ token: 'a', index: 0, outcome: delivered('a') }]);
      assert.equal(onEnd.calls, 1);
      assert.equal(limiter.inUse, 0);
      assert.equal(resize.subscribed, 1, 'subscribed once');
      assert.equal(resize.unsubscribed, 1, 'and unsubscribed at the end');
    });
  });

  describe('tokens beyond the capacity', () => {
    it('are all sent as slots free up, never more than the capacity at once; an unusable token is rejected unsent', async () => {
      const { limiter, sender, run, onEnd } = setup(['a', 'b', 'bad', 'c', 'd', 'e'], 2);
      sender.auto = (item) => outcome(item.token);
      const results = await collect(run.results(onEnd));

      assert.deepEqual(byIndex(results), [
        { token: 'a', index: 0, outcome: delivered('a') },
        { token: 'b', index: 1, outcome: delivered('b') },
        { token: 'bad', index: 2, outcome: BAD },
        { token: 'c', index: 3, outcome: delivered('c') },
        { token: 'd', index: 4, outcome: delivered('d') },
        { token: 'e', index: 5, outcome: delivered('e') },
      ]);
      assert.equal(results.length, 6, 'one result per token');
      assert.deepEqual(sender.sent, ['a', 'b', 'c', 'd', 'e'], 'each usable token sent once, in order; bad never');
      assert.equal(sender.gauge.max, 2, 'two in flight at once, not more');
      assert.ok(Math.max(...sender.inUseAtSend) <= 2);
      assert.equal(onEnd.calls, 1);
      assert.equal(limiter.inUse, 0);
      assert.equal(sender.gauge.current, 0);
    });

    it('two batches sharing one limiter never exceed its capacity together, and both complete', async () => {
      const limiter = new ConcurrencyLimiter(() => 2);
      const gauge = new Gauge();
      const x = setup(['x0', 'x1', 'x2', 'x3'], 2, { limiter, gauge });
      const y = setup(['y0', 'y1', 'y2', 'y3'], 2, { limiter, gauge });
      x.sender.auto = (item) => outcome(item.token);
      y.sender.auto = (item) => outcome(item.token);

      const [xs, ys] = await Promise.all([collect(x.run.results(x.onEnd)), collect(y.run.results(y.onEnd))]);
      assert.deepEqual(
        byIndex(xs).map((r) => r.token),
        ['x0', 'x1', 'x2', 'x3'],
      );
      assert.deepEqual(
        byIndex(ys).map((r) => r.token),
        ['y0', 'y1', 'y2', 'y3'],
      );
      assert.equal(gauge.max, 2, 'never more than the capacity in flight across both batches');
      assert.ok(Math.max(...x.sender.inUseAtSend, ...y.sender.inUseAtSend) <= 2);
      assert.equal(limiter.inUse, 0);
      assert.deepEqual([x.onEnd.calls, y.onEnd.calls], [1, 1]);
    });

    it('a consumer that does not pull holds the batch back, even when slots are granted to it', async () => {
      const limiter = new ConcurrencyLimiter(() => 2);
      assert.ok(limiter.tryAcquire(), 'another batch holds one of the two slots');
      const { sender, run, onEnd } = setup(['a', 'b', 'c', 'd', 'e'], 2, { limiter });
      const results = run.results(onEnd);
      const first = results.next();
      assert.deepEqual(sender.sent, ['a'], 'b waits for a slot');
      sender.settle('a');
      assert.equal((await first).value?.token, 'a');
      assert.deepEqual(sender.sent, ['a', 'b'], 'the slot a freed was granted to the batch, which sent b without a pull');

      // The consumer does not pull: b's answer waits, c takes the last place in the window (answers waiting + in flight).
      sender.settle('b');
      assert.deepEqual(sender.sent, ['a', 'b', 'c']);
      sender.settle('c');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(sender.sent, ['a', 'b', 'c'], 'two answers unconsumed: nothing more taken from the batch');
      assert.equal(limiter.inUse, 1, 'and no slot held or awaited for it: only the other batch holds one');

      limiter.release();
      sender.auto = (item) => outcome(item.token);
      const rest = await collect(results);
      assert.deepEqual(
        rest.map((r) => r.token),
        ['b', 'c', 'd', 'e'],
      );
      assert.equal(limiter.inUse, 0);
      assert.equal(onEnd.calls, 1);
    });

    it('a token found unusable while sending on a granted slot is yielded at once, not after the next answer', async () => {
      const limiter = new ConcurrencyLimiter(() => 2);
      assert.ok(limiter.tryAcquire() && limiter.tryAcquire(), 'other batches hold both slots');
      const { sender, run, onEnd } = setup(['a', 'bad'], 2, { limiter });
      const results = run.results(onEnd);
      const first = results.next();
      assert.deepEqual(sender.sent, []);
      limiter.release();
      assert.deepEqual(sender.sent, ['a'], 'a sent on the granted slot');
      assert.equal(await isSettled(first), true, 'the rejection of bad, found in the same pass, answers the pending pull');
      assert.deepEqual((await first).value, { token: 'bad', index: 1, outcome: BAD });
      sender.settle('a');
      assert.deepEqual(
        (await collect(results)).map((r) => r.token),
        ['a'],
      );
      limiter.release();
      assert.equal(limiter.inUse, 0);
      assert.equal(onEnd.calls, 1);
    });

    it('a request settled from inside send (synchronously) is handled', async () => {
      const { limiter, sender, run, onEnd } = setup(['a', 'b', 'c'], 1);
      sender.send = function (item, sink) {
        FakeSender.prototype.send.call(this, item, sink);
        this.settle(item.token);
      };
      const results = await collect(run.results(onEnd));
      assert.deepEqual(
        results.map((r) => r.token),
        ['a', 'b', 'c'],
      );
      assert.equal(limiter.inUse, 0);
      assert.equal(onEnd.calls, 1);
    });
  });

  describe('abort', () => {
    for (const [which, reason] of [
      ['job', 'Aborted'],
      ['stopping', 'ShuttingDown'],
    ] as const) {
      it(`(${which}) with the only slot in flight: the tokens not sent come back as retry ${reason} at once, the one in flight with its real outcome`, async () => {
        const { limiter, sender, job, stopping, run, onEnd } = setup(['a', 'b', 'c'], 1);
        const results = run.results(onEnd);
        const first = results.next();
        assert.deepEqual(sender.sent, ['a']);
        (which === 'job' ? job : stopping).abort();
        assert.equal(await isSettled(first), true, 'the full window does not hold the unsent tokens back');
        const early = [(await first).value, (await results.next()).value];
        const last = results.next();
        assert.equal(await isSettled(last), false, 'a is still in flight');
        sender.settle('a');
        const final = (await last).value;

        assert.deepEqual(byIndex([...early, final] as PushResult[]), [
          { token: 'a', index: 0, outcome: delivered('a') },
          { token: 'b', index: 1, outcome: { type: 'retry', reason } },
          { token: 'c', index: 2, outcome: { type: 'retry', reason } },
        ]);
        assert.equal((await results.next()).done, true);
        assert.deepEqual(sender.sent, ['a'], 'nothing sent after the abort');
        assert.equal(onEnd.calls, 1);
        assert.equal(limiter.inUse, 0);
      });

      it(`(${which}) hands back tokens waiting for a slot at once as ${reason}, before the request in flight answers, and passes on the slot granted later`, async () => {
        const limiter = new ConcurrencyLimiter(() => 2);
        assert.ok(limiter.tryAcquire(), 'some other batch holds one of the two slots');
        const x = setup(['a', 'b', 'c'], 2, { limiter });
        const y = setup(['y'], 2, { limiter });
        const xs = x.run.results(x.onEnd);
        const ys = y.run.results(y.onEnd);

        const first = xs.next();
        assert.deepEqual(x.sender.sent, ['a'], 'b waits for a slot');
        const yFirst = ys.next();
        assert.deepEqual(y.sender.sent, [], 'y waits for a slot, after b');

        (which === 'job' ? x.job : x.stopping).abort();
        assert.equal(await isSettled(first), true, 'the unsent tokens come back without waiting for a');
        assert.deepEqual((await first).value, { token: 'b', index: 1, outcome: { type: 'retry', reason } });
        assert.deepEqual((await xs.next()).value, { token: 'c', index: 2, outcome: { type: 'retry', reason } });
        const xLast = xs.next();
        assert.equal(await isSettled(xLast), false, 'a is still in flight');

        x.sender.settle('a');
        assert.deepEqual((await xLast).value, { token: 'a', index: 0, outcome: delivered('a') });
        assert.deepEqual(y.sender.sent, ['y'], 'the slot a freed reaches y, not the aborted batch');
        assert.equal(limiter.inUse, 2);
        assert.deepEqual(await xs.next(), { done: true, value: undefined });
        assert.equal(x.onEnd.calls, 1);

        y.sender.settle('y');
        assert.deepEqual((await yFirst).value, { token: 'y', index: 0, outcome: delivered('y') });
        assert.equal((await ys.next()).done, true);
        limiter.release();
        assert.equal(limiter.inUse, 0);
      });
    }
  });

  describe('resend', () => {
    it('puts the token back without a slot and sends it again once its delay has passed, then yields its outcome', async () => {
      const { limiter, sender, run, onEnd } = setup(['a'], 2);
      const all = collect(run.results(onEnd));
      assert.deepEqual(sender.sent, ['a']);

      const resentAt = Date.now();
      sender.settle('a', { kind: 'resend', delayMs: 20 });
      assert.equal(limiter.inUse, 0, 'a token waiting for its resend holds no slot');
      assert.deepEqual(sender.sent, ['a'], 'not sent again before its delay');
      await waitFor(() => sender.sent.length === 2, 'the resend');
      assert.ok((sender.sentAt[1] as number) - resentAt >= 20, `resent after ${(sender.sentAt[1] as number) - resentAt} ms`);
      assert.equal(limiter.inUse, 1);

      sender.settle('a');
      assert.deepEqual(await all, [{ token: 'a', index: 0, outcome: delivered('a') }]);
      assert.equal(onEnd.calls, 1);
      assert.equal(limiter.inUse, 0);
    });

    it('an abort during the delay hands the token back at once as retry Aborted with the time left, and clears the timer', async () => {
      const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
      const before = timers();
      const { limiter, sender, job, run, onEnd } = setup(['a'], 2);
      const all = collect(run.results(onEnd));
      sender.settle('a', { kind: 'resend', delayMs: 60_000 });
      assert.equal(timers(), before + 1, 'a timer waits for the resend');

      job.abort();
      let done = false;
      void all.then(() => (done = true));
      await waitFor(() => done, 'the aborted token, long before its resend is due');
      const results = await all;
      assert.equal(results.length, 1);
      const [only] = results;
      assert.equal(only?.outcome.type, 'retry');
      assert.equal(only.outcome.type === 'retry' && only.outcome.reason, 'Aborted');
      const afterMs = only.outcome.type === 'retry' ? only.outcome.afterMs : undefined;
      assert.ok(afterMs !== undefined && afterMs > 50_000 && afterMs <= 60_000, `afterMs ${afterMs}`);
      assert.deepEqual(sender.sent, ['a'], 'never sent again');
      assert.equal(onEnd.calls, 1);
      assert.equal(limiter.inUse, 0);
      assert.equal(timers(), before, 'the resend timer is cleared');
    });
  });

  describe('early end', () => {
    it('break after the first result: onEnd once, the slot wait dropped, in-flight requests settle later without a resend', async () => {
      const limiter = new ConcurrencyLimiter(() => 3);
      assert.ok(limiter.tryAcquire(), 'another batch holds one of the three slots');
      const { sender, run, onEnd } = setup(['a', 'b', 'c', 'd'], 3, { limiter });
      const resize = spyResize(limiter);
      const seen: string[] = [];
      const consumer = (async () => {
        for await (const result of run.results(onEnd)) {
          seen.push(result.token);
          // a's slot went to this batch, which sent c at once; d waits for a slot.
          assert.deepEqual(sender.sent, ['a', 'b', 'c']);
          break;
        }
      })();
      assert.deepEqual(sender.sent, ['a', 'b'], 'c waits for a slot');
      sender.settle('a');
      await consumer;

      assert.deepEqual(seen, ['a']);
      assert.equal(onEnd.calls, 1);
      const late = run.next();
      assert.equal(await isSettled(late), true, 'a pull after the break ends at once');
      assert.deepEqual(await late, { done: true, value: undefined });
      assert.equal(resize.unsubscribed, resize.subscribed, 'no watch left behind');
      assert.equal(limiter.inUse, 3, 'the other holder, b and c');
      limiter.release();
      assert.equal(limiter.inUse, 2, 'the freed slot is not granted to the ended batch: only b and c hold slots');
      assert.deepEqual(sender.sent, ['a', 'b', 'c'], 'd is never sent');

      sender.settle('b');
      sender.settle('c', { kind: 'resend', delayMs: 0 });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(limiter.inUse, 0, 'every slot back once the requests in flight settle');
      assert.deepEqual(sender.sent, ['a', 'b', 'c'], 'no resend after the end');
      assert.equal(sender.gauge.current, 0);
      assert.equal(onEnd.calls, 1);
    });
  });

  describe('capacity', () => {
    it('a rise lets a waiting batch send more at once', async () => {
      let capacity = 1;
      const { limiter, sender, run, onEnd } = setup(['a', 'b', 'c', 'd'], () => capacity);
      const all = collect(run.results(onEnd));
      assert.deepEqual(sender.sent, ['a']);

      capacity = 3;
      limiter.changed();
      assert.deepEqual(sender.sent, ['a', 'b', 'c'], 'two more sent on the announcement, before any answer');
      assert.equal(limiter.inUse, 3);

      sender.settle('a');
      await waitFor(() => sender.sent.length === 4, 'd sent');
      for (const token of ['b', 'c', 'd']) sender.settle(token);
      const results = await all;
      assert.deepEqual(
        byIndex(results).map((r) => r.token),
        ['a', 'b', 'c', 'd'],
      );
      assert.equal(sender.gauge.max, 3);
      assert.equal(limiter.inUse, 0);
      assert.equal(onEnd.calls, 1);
    });
  });

  describe('the iterator', () => {
    it('answers next() after the end with done again, and return() after the end changes nothing; onEnd once', async () => {
      const { sender, run, onEnd } = setup(['a'], 1);
      sender.auto = (item) => outcome(item.token);
      const results = run.results(onEnd);
      assert.equal(results[Symbol.asyncIterator](), results);
      assert.equal((await results.next()).done, false);
      assert.deepEqual(await results.next(), { done: true, value: undefined });
      assert.deepEqual(await results.next(), { done: true, value: undefined });
      assert.deepEqual(await results.return?.(), { done: true, value: undefined });
      assert.deepEqual(await collect(results), []);
      assert.equal(onEnd.calls, 1);
      assert.deepEqual(sender.sent, ['a']);
    });

    it('return() while a next() waits ends that next() too, and a later answer changes nothing', async () => {
      const { limiter, sender, run, onEnd } = setup(['a'], 1);
      const results = run.results(onEnd);
      const first = results.next();
      assert.deepEqual(await results.return?.(), { done: true, value: undefined });
      assert.deepEqual(await first, { done: true, value: undefined });
      assert.equal(onEnd.calls, 1);
      sender.settle('a');
      assert.deepEqual(await results.next(), { done: true, value: undefined });
      assert.equal(limiter.inUse, 0);
    });

    it('rejects a second next() while one is pending', async () => {
      const { sender, run, onEnd } = setup(['a'], 1);
      const results = run.results(onEnd);
      const first = results.next();
      await assert.rejects(results.next(), /while a result is pending/);
      sender.settle('a');
      assert.equal((await first).value?.token, 'a');
      assert.equal((await results.next()).done, true);
      assert.equal(onEnd.calls, 1);
    });

    it('an empty batch ends at the first pull without sending', async () => {
      const { limiter, sender, run, onEnd } = setup([], 1);
      const resize = spyResize(limiter);
      assert.deepEqual(await collect(run.results(onEnd)), []);
      assert.equal(onEnd.calls, 1);
      assert.deepEqual(sender.sent, []);
      assert.equal(resize.subscribed, 0);
    });
  });

  describe('a bug in the sender', () => {
    it('thrown on the consumer\'s pull rejects its next(), frees the slot and ends the run once', async () => {
      const { limiter, sender, run, onEnd } = setup(['a'], 1);
      sender.sendThrows.add('a');
      await assert.rejects(collect(run.results(onEnd)), /send bug on a/);
      assert.equal(limiter.inUse, 0);
      assert.equal(sender.gauge.current, 0);
      assert.equal(onEnd.calls, 1);
    });

    it('thrown while sending on a slot freed by an answer reaches the consumer, not the code that answered', async () => {
      const { limiter, sender, run, onEnd } = setup(['a', 'b'], 1);
      sender.sendThrows.add('b');
      const results = run.results(onEnd);
      const first = results.next();
      assert.deepEqual(sender.sent, ['a'], 'b waits for the slot');
      // The answer frees the slot to b, whose send throws: settle itself must not.
      assert.doesNotThrow(() => sender.settle('a'));
      assert.deepEqual((await first).value, { token: 'a', index: 0, outcome: delivered('a') });
      await assert.rejects(results.next(), /send bug on b/);
      assert.deepEqual(await results.next(), { done: true, value: undefined });
      assert.equal(limiter.inUse, 0);
      assert.equal(onEnd.calls, 1);
    });

    it('thrown while sending on a slot another batch released rejects the waiting next(), and the releasing batch goes on', async () => {
      const limiter = new ConcurrencyLimiter(() => 1);
      const x = setup(['x'], 1, { limiter });
      const y = setup(['y'], 1, { limiter });
      y.sender.sendThrows.add('y');
      const xs = x.run.results(x.onEnd);
      const ys = y.run.results(y.onEnd);
      const xFirst = xs.next();
      const yFirst = ys.next();
      assert.deepEqual(x.sender.sent, ['x']);
      assert.doesNotThrow(() => x.sender.settle('x'));
      await assert.rejects(yFirst, /send bug on y/);
      assert.equal(y.onEnd.calls, 1);
      assert.deepEqual((await xFirst).value, { token: 'x', index: 0, outcome: delivered('x') });
      assert.equal((await xs.next()).done, true);
      assert.equal(limiter.inUse, 0);
    });
  });

  describe('with a credentials gate', () => {
    it('a closed gate answers every token with its refusal, unsent', async () => {
      let now = 1_000;
      const clock = (): number => now;
      const gate = new CredentialGate(30_000, clock);
      gate.refuse('InvalidProviderToken', 403);
      now += 10_000;
      const { limiter, sender, run, onEnd } = setup(['a', 'b'], 2, { gate, clock });
      const results = await collect(run.results(onEnd));
      const refused: PushOutcome = { type: 'credentials', reason: 'InvalidProviderToken', afterMs: 20_000, status: 403 };
      assert.deepEqual(byIndex(results), [
        { token: 'a', index: 0, outcome: refused },
        { token: 'b', index: 1, outcome: refused },
      ]);
      assert.deepEqual(sender.sent, []);
      assert.equal(limiter.inUse, 0);
      assert.equal(onEnd.calls, 1);
    });
  });
});
