/**
 * Wall-clock milliseconds with sub-millisecond resolution. Publisher and subscribers
 * run in different processes on one machine: each derives this from the same system
 * clock, so the difference of two stamps is a cross-process delay.
 */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
