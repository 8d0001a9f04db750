#!/usr/bin/env node
// Fails when src/ has a circular import between its own modules (type-only imports excluded).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const src = new URL('../src', import.meta.url).pathname;
const files = (function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
})(src);

const edges = new Map();
const importPattern = /^\s*(import|export)\s+(?!type\b)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const match of text.matchAll(importPattern)) {
    deps.push(resolve(dirname(file), match[2].replace(/\.js$/, '.ts')));
  }
  edges.set(file, deps);
}

const state = new Map();
const cycles = [];
function visit(node, stack) {
  state.set(node, 'visiting');
  stack.push(node);
  for (const dep of edges.get(node) ?? []) {
    if (state.get(dep) === 'visiting') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep) && edges.has(dep)) visit(dep, stack);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const file of files) if (!state.has(file)) visit(file, []);
if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => relative(src, f)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles in ${files.length} modules`);
