/** Percentile by nearest rank over an unsorted sample (copied and sorted once). */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  if (values.length === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
}

export function ratio(value: number, baseline: number): number {
  return baseline === 0 ? Number.NaN : value / baseline;
}

/** One measured run: units of work (messages, requests), its wall seconds and the server's CPU seconds. */
export interface MeasuredRun {
  readonly units: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

/** Sums of several rounds: throughput over the total time, CPU over the total units. */
export function runTotals(runs: readonly MeasuredRun[]): { perSecond: number; cpuMicrosPerUnit: number } {
  const units = runs.reduce((sum, run) => sum + run.units, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const cpu = runs.reduce((sum, run) => sum + run.cpuSeconds, 0);
  return { perSecond: units / seconds, cpuMicrosPerUnit: (cpu * 1e6) / units };
}
