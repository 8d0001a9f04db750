import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendBudget } from '../../src/notifications/pipeline/send-budget.js';

/** The next turn of the event loop: a round woken but not taking its room has let it go on. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Within this turn: the woken rounds have run, the budget has not looked again. */
const settled = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** Which of the waits have resolved so far. */
function watch(waits: ReadonlyArray<{ ready: Promise<void> }>): boolean[] {
  const woken = waits.map(() => false);
  waits.forEach((w, i) => void w.ready.then(() => (woken[i] = true)));
  return woken;
}

describe('send budget', () => {
  it('wakes waiting rounds first in, first out, only as many as the freed room serves', async () => {
    const budget = new SendBudget(4);
    budget.take(4);
    const waits = [budget.wait(1), budget.wait(1), budget.wait(1), budget.wait(1)];
    const woken = watch(waits);
    budget.release(2);
    await settled();
    assert.deepEqual(woken, [true, true, false, false]);
    // The two woken take their room: the others wait for the next release.
    budget.take(2);
    await turn();
    assert.deepEqual(woken, [true, true, false, false]);
    budget.release(1);
    await settled();
    assert.deepEqual(woken, [true, true, true, false]);
  });

  it('serves a large round in its turn, ahead of rounds that came after it', async () => {
    const budget = new SendBudget(10);
    budget.take(10);
    const waits = [budget.wait(5), budget.wait(1)];
    const woken = watch(waits);
    budget.release(1);
    await settled();
    // One token of room reaches the large round first (it takes what there is).
    assert.deepEqual(woken, [true, false]);
  });

  it('passes room on when a woken round does not take it, so nobody waits forever', async () => {
    const budget = new SendBudget(2);
    budget.take(2);
    const waits = [budget.wait(1), budget.wait(1), budget.wait(1)];
    const woken = watch(waits);
    budget.release(1);
    await settled();
    assert.deepEqual(woken, [true, false, false]);
    // The woken round stopped instead of sending: the room goes on to the next.
    await turn();
    assert.deepEqual(woken, [true, true, false]);
    budget.take(1);
    await turn();
    assert.deepEqual(woken, [true, true, false], 'taken: the last one waits for a release');
  });

  it('forgets a cancelled wait: the room goes to the next one', async () => {
    const budget = new SendBudget(1);
    budget.take(1);
    const first = budget.wait(1);
    const second = budget.wait(1);
    const woken = watch([first, second]);
    first.cancel();
    budget.release(1);
    await turn();
    assert.deepEqual(woken, [false, true]);
  });

  it('answers at once when there is room already', async () => {
    const budget = new SendBudget(3);
    budget.take(1);
    const woken = watch([budget.wait(2)]);
    await turn();
    assert.deepEqual(woken, [true]);
  });
  it('counts the rounds waiting, so a newcomer can queue behind them', () => {
    const budget = new SendBudget(1);
    budget.take(1);
    const first = budget.wait(1);
    budget.wait(1);
    assert.equal(budget.waiting, 2);
    first.cancel();
    assert.equal(budget.waiting, 1);
  });
});
