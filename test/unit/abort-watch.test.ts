import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childController, onAbort } from '../../src/lib/abort-watch.js';

describe('abort watchers', () => {
  it('calls each watcher once when the signal aborts, and not those that stopped watching', () => {
    const parent = new AbortController();
    const calls: string[] = [];
    const stops = Array.from({ length: 1_000 }, (_, i) => onAbort(parent.signal, () => calls.push(`w${i}`)));
    for (const stop of stops.slice(0, 998)) stop();
    parent.abort();
    parent.abort();
    assert.deepEqual(calls, ['w998', 'w999']);
  });

  it('never calls a watcher of a signal that had aborted before it watched', () => {
    const parent = new AbortController();
    parent.abort();
    let called = 0;
    onAbort(parent.signal, () => (called += 1));
    assert.equal(called, 0);
  });

  it('a child aborts with its parent and its reason, or alone; a released child no longer follows', () => {
    const parent = new AbortController();
    const linked = childController(parent.signal);
    const released = childController(parent.signal);
    released.release();
    const alone = childController(parent.signal);
    alone.controller.abort(new Error('own'));
    assert.equal(parent.signal.aborted, false, 'a child does not abort its parent');
    parent.abort(new Error('stop'));
    assert.equal((linked.controller.signal.reason as Error).message, 'stop');
    assert.equal(released.controller.signal.aborted, false);
    assert.equal((alone.controller.signal.reason as Error).message, 'own');
    const late = childController(parent.signal);
    assert.equal((late.controller.signal.reason as Error).message, 'stop', 'a child of an aborted signal starts aborted');
  });

  it('a child of several parents aborts with the first of them to abort', () => {
    const job = new AbortController();
    const stopping = new AbortController();
    const { controller, release } = childController(job.signal, stopping.signal);
    stopping.abort(new Error('stopping'));
    job.abort(new Error('job'));
    assert.equal((controller.signal.reason as Error).message, 'stopping');
    release();
    const early = childController(new AbortController().signal, stopping.signal);
    assert.equal(early.controller.signal.aborted, true);
  });
});
