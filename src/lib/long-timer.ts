/**
 * setTimeout keeps its delay in a signed 32-bit integer: a delay above 2^31−1 ms
 * (about 24.8 days), or NaN, fires at once with a TimeoutOverflowWarning. A timer
 * re-armed on every early fire then spins the CPU. Every computed delay goes through
 * here: it is armed in steps of at most MAX_TIMER_MS and fires once, when due.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Cancels the timer; calling it again (or after it fired) does nothing. */
  clear(): void;
  /** Lets the process exit while only this timer is pending. */
  unref(): LongTimer;
}

/**
 * Calls `fn` once after `ms`. Negative, zero or NaN fire on the next turn of the timer
 * phase; Infinity never fires. Measured on the monotonic clock, so a wall-clock jump
 * neither fires it early nor holds it back.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const dueAt = performance.now() + (Number.isNaN(ms) ? 0 : Math.max(0, ms));
  let timer: NodeJS.Timeout | undefined;
  let unref = false;
  const arm = (): void => {
    const remaining = dueAt - performance.now();
    if (remaining <= 0) {
      timer = undefined;
      fn();
      return;
    }
    timer = setTimeout(arm, Math.min(Math.ceil(remaining), MAX_TIMER_MS));
    if (unref) timer.unref();
  };
  const remaining = dueAt - performance.now();
  timer = setTimeout(arm, Math.min(Math.max(0, Math.ceil(remaining)), MAX_TIMER_MS));
  const handle: LongTimer = {
    clear: () => {
      clearTimeout(timer);
      timer = undefined;
    },
    unref: () => {
      unref = true;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}
