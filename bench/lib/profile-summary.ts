/**
 * Prints where a .cpuprofile spent its samples: top functions by self time, and self
 * time by file.
 *
 *   node --import tsx bench/lib/profile-summary.ts <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const shortUrl = (url: string): string => url.replace(/^file:\/\/.*?\/node_modules\//, '~/').replace(/^file:\/\/.*?\/dist\//, 'dist/');
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
for (const [id, micros] of selfMicros) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  const fileKey = shortUrl(url) || `(${functionName})`;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + micros);
  total += micros;
}
const print = (title: string, entries: Map<string, number>): void => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  }
};
print('self time by function', byFunction);
print('self time by file', byFile);

// BENCH_PROFILE_CALLERS=<function name>: the call stacks that lead to it, heaviest first.
const callersOf = process.env.BENCH_PROFILE_CALLERS;
if (callersOf) {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stacks = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName !== callersOf) continue;
    const frames: string[] = [];
    for (let at = parent.get(id); at !== undefined && frames.length < 12; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame) frames.push(`${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`);
    }
    const key = frames.join('\n      < ');
    stacks.set(key, (stacks.get(key) ?? 0) + micros);
  }
  console.log(`\ncallers of ${callersOf}`);
  for (const [key, micros] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`${(micros / 1000).toFixed(0).padStart(6)} ms  ${key}\n`);
}

// Self time grouped by area: Herald's folders, packages, node internals, GC.
const areas = new Map<string, number>();
for (const [key, micros] of byFile) {
  const area = key.startsWith('dist/src/')
    ? key.split('/').slice(0, 4).join('/').replace(/\.js$/, '')
    : key.startsWith('~/')
      ? `pkg ${key.split('/')[1]?.startsWith('@') ? key.split('/').slice(1, 3).join('/') : key.split('/')[1]}`
      : key.startsWith('node:internal/http2') ? 'node http2' : key.startsWith('node:') ? 'node other' : key;
  areas.set(area, (areas.get(area) ?? 0) + micros);
}
print('self time by area', areas);
