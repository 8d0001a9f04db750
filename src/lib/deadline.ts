import { setMaxListeners } from 'node:events';
import { setLongTimeout } from './long-timer.js';

// Not node's timers/promises setTimeout or AbortSignal.timeout: both keep the delay in a
// signed 32-bit integer, so past 2^31−1 ms (about 24.8 days) they fire after 1 ms with a
// TimeoutOverflowWarning (Node 20 and 24 alike). Every delay here may come from
// configuration or caller data, so both helpers arm through long-timer.ts instead.

/** Resolves after `ms` (any length: see long-timer.ts), or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const timer = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      timer.clear();
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts after `ms`; `unref` so it never holds the process open. A deadline
 * is shared by many waits (every Redis connection of a start, every service a shutdown
 * stops), so Node 20's leak warning at eleven listeners would be a false alarm.
 */
export function deadlineAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  setLongTimeout(() => controller.abort(new Error(`deadline of ${ms} ms passed`)), ms).unref();
  return controller.signal;
}
