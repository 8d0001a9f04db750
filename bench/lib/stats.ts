import type { Row } from './report.js';

/** Percentile by nearest rank over an unsorted sample (copied and sorted once). */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] {
  if (values.length === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
}

/** The middle value; with an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
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

/** A measured run with its table row, as a bench's `measure` returns it. */
export interface MeasuredRow extends MeasuredRun {
  readonly row: Row;
}

/** Sums of several rounds: throughput over the total time, CPU over the total units. */
export function runTotals(runs: readonly MeasuredRun[]): { perSecond: number; cpuMicrosPerUnit: number } {
  const units = runs.reduce((sum, run) => sum + run.units, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const cpu = runs.reduce((sum, run) => sum + run.cpuSeconds, 0);
  return { perSecond: units / seconds, cpuMicrosPerUnit: (cpu * 1e6) / units };
}

/**
 * Measures every server `rounds` times, each round in the opposite order to the one
 * before, so no server always runs first or right after another. Returns each server's
 * runs (for `runTotals`) and the table's rows, numbered by round.
 */
export async function alternatingRounds<S, M extends { readonly row: Row }>(servers: readonly S[], rounds: number, measure: (server: S) => Promise<M>): Promise<{ runs: Map<S, M[]>; rows: Row[] }> {
  const runs = new Map<S, M[]>(servers.map((server) => [server, []]));
  const rows: Row[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      const measured = await measure(server);
      runs.get(server)?.push(measured);
      rows.push({ round: round + 1, ...measured.row });
    }
  }
  return { runs, rows };
}
