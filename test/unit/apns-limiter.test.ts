import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CredentialGate } from '../../src/providers/shared/credential-gate.js';
import { ConcurrencyLimiter } from '../../src/providers/shared/limiter.js';

describe('concurrency limiter', () => {
  it('never hands out more slots than the current capacity, which may change while in use', () => {
    let capacity = 3;
    const limiter = new ConcurrencyLimiter(() => capacity);
    assert.deepEqual([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()], [true, true, true, false]);
    capacity = 1;
    limiter.release();
    assert.equal(limiter.tryAcquire(), false, 'still 2 in use against a capacity of 1');
    limiter.release();
    limiter.release();
    assert.equal(limiter.inUse, 0);
    assert.equal(limiter.tryAcquire(), true);
    assert.equal(limiter.tryAcquire(), false);
    capacity = 2;
    assert.equal(limiter.tryAcquire(), true);
  });

  it('tells resize listeners about a new capacity only, until they unsubscribe, and next-change listeners once about anything', () => {
    let capacity = 1;
    const limiter = new ConcurrencyLimiter(() => capacity);
    const seen: string[] = [];
    const offA = limiter.onResize(() => seen.push('a'));
    limiter.onResize(() => seen.push('b'));
    limiter.onNextChange(() => seen.push('next-1'));
    const offNext = limiter.onNextChange(() => seen.push('next-cancelled'));
    offNext();
    limiter.changed();
    offA();
    limiter.onNextChange(() => seen.push('next-2'));
    // The same capacity again: no resize listener is called, the next-change one is.
    limiter.changed();
    limiter.changed();
    capacity = 2;
    limiter.changed();
    assert.deepEqual(seen, ['a', 'b', 'next-1', 'next-2', 'b']);
  });

  it('hands each released slot to one waiter, oldest first, still counted as in use', () => {
    let capacity = 1;
    const limiter = new ConcurrencyLimiter(() => capacity);
    const granted: string[] = [];
    assert.ok(limiter.tryAcquire());
    limiter.whenFree(() => granted.push('a'));
    const cancelB = limiter.whenFree(() => granted.push('b'));
    limiter.whenFree(() => granted.push('c'));
    cancelB();
    limiter.release();
    assert.deepEqual(granted, ['a']);
    assert.equal(limiter.inUse, 1, 'the slot moved to a without being freed');
    assert.equal(limiter.tryAcquire(), false, 'a newcomer cannot take a slot a waiter was promised');
    capacity = 3;
    limiter.changed();
    assert.deepEqual(granted, ['a', 'c'], 'a capacity rise grants waiting callers');
    assert.equal(limiter.inUse, 2);
    limiter.release();
    limiter.release();
    assert.equal(limiter.inUse, 0, 'with nobody waiting, a release frees the slot');
  });

  it('refuses a release without an acquire (a bug, not a state)', () => {
    assert.throws(() => new ConcurrencyLimiter(() => 1).release(), /released more often than acquired/);
  });
});

describe('credential gate', () => {
  it('closes on refusal, refuses during the cool-down, then lets exactly one probe out', () => {
    const clock = { now: 1_000 };
    const changes: boolean[] = [];
    const gate = new CredentialGate(60_000, () => clock.now, (open) => changes.push(open));
    assert.deepEqual(gate.admit(), { kind: 'send' });
    gate.refuse('BadCertificate', 403);
    gate.refuse('BadCertificate', 403);
    assert.deepEqual(changes, [false], 'reported once');
    assert.deepEqual(gate.admit(), { kind: 'refused', reason: 'BadCertificate', status: 403, afterMs: 60_000 });
    clock.now += 59_999;
    assert.equal(gate.admit().kind, 'refused');
    clock.now += 1;
    assert.deepEqual(gate.admit(), { kind: 'probe' });
    assert.deepEqual(gate.admit(), { kind: 'wait' });
    gate.accept();
    assert.deepEqual(changes, [false, true]);
    assert.deepEqual(gate.admit(), { kind: 'send' });
    assert.equal(gate.open, true);
  });

  it('a refused probe closes it for another cool-down; an inconclusive one lets the next request probe', () => {
    const clock = { now: 0 };
    const gate = new CredentialGate(1_000, () => clock.now);
    gate.refuse('InvalidProviderToken', 403);
    clock.now = 1_000;
    assert.equal(gate.admit().kind, 'probe');
    gate.probeInconclusive();
    assert.equal(gate.admit().kind, 'probe');
    gate.refuse('InvalidProviderToken', 403);
    assert.deepEqual(gate.admit(), { kind: 'refused', reason: 'InvalidProviderToken', status: 403, afterMs: 1_000 });
    assert.equal(gate.current.kind, 'closed');
  });
});
