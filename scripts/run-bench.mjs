#!/usr/bin/env node
// Runs every bench/*.bench.ts in turn (never in parallel: they measure CPU). `--quick` is passed through.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const benches = readdirSync(new URL('../bench', import.meta.url))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (benches.length === 0) {
  console.error('no benchmarks found');
  process.exit(1);
}
// The benches spawn the built daemon (dist/): build it from this tree first. tsc still emits
// when it reports type errors; the benches then measure what it emitted, so say so loudly.
const build = spawnSync(process.execPath, [new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) console.error('warning: the build reported errors; benchmarking what it emitted');
let failed = 0;
for (const bench of benches) {
  console.log(`\n### ${bench} ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${bench}`, ...args.filter((a) => a.startsWith('--'))], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    console.error(`${bench} failed with ${result.status ?? result.signal}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
