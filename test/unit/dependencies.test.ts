import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';

// The image installs `dependencies` only: a package src/ loads that sits in devDependencies
// breaks start-up there, and one in dependencies that src/ never loads only grows the image.

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The package a specifier names: `@scope/name` or `name`; undefined for relative and node: paths. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Packages a file loads at run time: value imports, dynamic imports, require and require.resolve (type-only imports vanish). */
function loadedPackages(text: string): string[] {
  const specifiers = [
    ...[...text.matchAll(/^import (?!type )[^;]*?from '([^']+)'/gms)].map((m) => m[1]!),
    ...[...text.matchAll(/\b(?:import|require|require\.resolve)\('([^']+)'\)/g)].map((m) => m[1]!),
  ];
  return specifiers.map(packageOf).filter((name): name is string => name !== undefined);
}

const loaded = new Map<string, string>();
for (const file of sources('src')) for (const name of loadedPackages(readFileSync(file, 'utf8'))) loaded.set(name, file);

describe('production dependencies', () => {
  it('the scanner sees value, dynamic and require imports but not type-only ones', () => {
    const text = "import type X from 'typed-only';\nimport a from 'alpha';\nimport { b } from '@scope/beta/sub';\nconst c = await import('gamma');\nrequire.resolve('delta');\nimport { x } from './local.js';\nimport { y } from 'node:fs';";
    assert.deepEqual(loadedPackages(text), ['alpha', '@scope/beta', 'gamma', 'delta']);
  });

  it('every package src/ loads is a production dependency', () => {
    for (const [name, file] of loaded) assert.ok(pkg.dependencies[name], `${file} loads ${name}, which a production install lacks`);
  });

  it('every production dependency is loaded by src/ (the APNs baseline and pino-pretty are development-only)', () => {
    for (const name of Object.keys(pkg.dependencies)) assert.ok(loaded.has(name), `${name} is a dependency that src/ never loads`);
    for (const name of ['@parse/node-apn', 'pino-pretty']) assert.ok(pkg.devDependencies[name], `${name} belongs in devDependencies`);
  });
});
