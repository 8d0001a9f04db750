#!/usr/bin/env node
// Checks src/'s import graph: no circular imports between modules (type-only imports excluded),
// no cycles between folders, and the layering rules of STYLE.md's Layout (type imports included).
// `node scripts/check-cycles.mjs [SRC_DIR]`; exits 1 and names every offending import.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const importPattern = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;

/** Every .ts file under `src` with its relative imports: `{ path, runtime }[]`, paths relative to `src`. */
export function readGraph(src) {
  const files = (function walk(dir) {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
    });
  })(src);
  const graph = new Map();
  for (const file of files) {
    const deps = [];
    for (const match of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const target = resolve(dirname(file), match[3].replace(/\.js$/, '.ts'));
      deps.push({ path: relative(src, target).split(sep).join('/'), runtime: match[2] === undefined });
    }
    graph.set(relative(src, file).split(sep).join('/'), deps);
  }
  return graph;
}

/** The layer of a module: its top folder (`notifications/x/y.ts` → `notifications`), or the file itself at the root. */
const layerOf = (path) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path.replace(/\.ts$/, ''));
const under = (path, folder) => path.startsWith(`${folder}/`);

/** What herald/client's Redis mode shares with the daemon, so it connects and enqueues exactly as the daemon reads. */
const clientInfrastructure = new Set(['redis/redis-client.ts', 'queue/bullmq-queue-driver.ts', 'queue/queue-driver.ts']);

/** Who may not import whom. Each rule says why in its message. */
export const rules = [
  {
    name: 'notifications-above-transport',
    test: (from, to) => under(from, 'notifications') && (under(to, 'http') || under(to, 'gateway')),
    why: 'notifications/ never imports http/ or gateway/ (it reaches them through notifications/ports.ts)',
  },
  {
    name: 'providers-gateway-apart',
    test: (from, to) => (under(from, 'providers') && under(to, 'gateway')) || (under(from, 'gateway') && under(to, 'providers')),
    why: 'providers/ and gateway/ share only events.ts',
  },
  {
    name: 'daemon-without-client',
    test: (from, to) => under(to, 'client') && !under(from, 'client') && !under(from, 'cli'),
    why: 'nothing in the daemon imports client/ (only the CLI may)',
  },
  {
    name: 'client-on-contract',
    test: (from, to) => under(from, 'client') && !under(to, 'client') && !under(to, 'notifications/contract') && !under(to, 'lib') && !clientInfrastructure.has(to),
    why: 'client/ imports only notifications/contract, neutral helpers in lib/ and the Redis connection and queue drivers it shares with the daemon',
  },
  {
    name: 'contract-self-contained',
    test: (from, to) => under(from, 'notifications/contract') && !under(to, 'notifications/contract') && !under(to, 'lib'),
    why: 'notifications/contract is what producers import: it depends on lib/ alone',
  },
  {
    name: 'routes-in-http',
    test: (from, to) => !under(from, 'http') && from !== 'main.ts' && (to === 'http/server.ts' || under(to, 'http/routes')),
    why: 'every route lives in http/routes/ and main.ts mounts them',
  },
];

function fileCycles(graph) {
  const state = new Map();
  const cycles = [];
  const visit = (node, stack) => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (!dep.runtime) continue;
      if (state.get(dep.path) === 'visiting') cycles.push([...stack.slice(stack.indexOf(dep.path)), dep.path]);
      else if (!state.has(dep.path) && graph.has(dep.path)) visit(dep.path, stack);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file, []);
  return cycles;
}

/** Cycles between top folders, with one import that makes each arrow. The CLI and the composition root sit above all. */
function folderCycles(graph) {
  const arrows = new Map();
  for (const [from, deps] of graph) {
    for (const dep of deps) {
      const a = layerOf(from);
      const b = layerOf(dep.path);
      if (a === b || a === 'main' || a === 'cli') continue;
      const key = `${a}>${b}`;
      if (!arrows.has(key)) arrows.set(key, `${from} -> ${dep.path}`);
    }
  }
  const next = new Map();
  for (const key of arrows.keys()) {
    const [a, b] = key.split('>');
    next.set(a, [...(next.get(a) ?? []), b]);
  }
  const found = [];
  const seen = new Set();
  for (const start of next.keys()) {
    const stack = [[start, [start]]];
    while (stack.length > 0) {
      const [node, path] = stack.pop();
      for (const b of next.get(node) ?? []) {
        if (b === start) {
          const id = [...path].sort().join(',');
          if (!seen.has(id)) {
            seen.add(id);
            found.push(path.map((f, i) => arrows.get(`${f}>${path[i + 1] ?? start}`)));
          }
        } else if (!path.includes(b) && b > start) stack.push([b, [...path, b]]);
      }
    }
  }
  return found;
}

/** Every problem in the graph, as lines to print. */
export function checkGraph(graph) {
  const problems = [];
  for (const cycle of fileCycles(graph)) problems.push(`import cycle: ${cycle.join(' -> ')}`);
  for (const cycle of folderCycles(graph)) problems.push(`folder cycle: ${cycle.join(' ; ')}`);
  for (const [from, deps] of graph) {
    for (const dep of deps) {
      for (const rule of rules) {
        if (rule.test(from, dep.path)) problems.push(`${rule.name}: ${from} imports ${dep.path}: ${rule.why}`);
      }
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = resolve(process.argv[2] ?? new URL('../src', import.meta.url).pathname);
  const graph = readGraph(src);
  const problems = checkGraph(graph);
  for (const line of problems) console.error(line);
  if (problems.length > 0) process.exit(1);
  console.log(`no import cycles or layering breaks in ${graph.size} modules`);
}
