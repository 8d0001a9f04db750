import { readFileSync } from 'node:fs';

/**
 * The version in Herald's package.json. Found by walking up from this module, since it
 * runs both as dist/src/cli/version.js (installed) and src/cli/version.ts (from source).
 */
export function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'herald' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: one level up
    }
  }
  return 'unknown';
}
