import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

export type Row = Record<string, string | number>;

/**
 * Prints rows as an aligned table and writes them, with machine facts, to
 * bench/results/<name>.json — or, for a --quick run, bench/results/quick/<name>.json,
 * so a smoke run never replaces the full run's figures.
 */
export function report(name: string, rows: Row[], extra: Record<string, unknown> = {}): void {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: string | number | undefined): string =>
    value === undefined ? '' : typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1)) : value;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(`\n== ${name} ==`);
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
  for (const [key, value] of Object.entries(extra)) console.log(`${key}: ${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : JSON.stringify(value)}`);
  const dir = new URL(quick ? '../results/quick/' : '../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    new URL(`${name}.json`, dir),
    JSON.stringify({ name, at: new Date().toISOString(), cores: cpus().length, node: process.version, quick: process.argv.includes('--quick'), rows, ...extra }, null, 2),
  );
}

export const quick = process.argv.includes('--quick');
