import { setLongTimeout } from './long-timer.js';

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

/** A signal that aborts after `ms`; `unref` so it never holds the process open. */
export function deadlineAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setLongTimeout(() => controller.abort(new Error(`deadline of ${ms} ms passed`)), ms).unref();
  return controller.signal;
}
