import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openApiDocumentText } from '../../src/http/openapi/openapi-document.js';

const root = new URL('../../', import.meta.url);

/** Every `server.<method>('<path>'` in src/http/routes, as OpenAPI paths (`:name` → `{name}`). */
function declaredRoutes(): string[] {
  const dir = new URL('src/http/routes/', root);
  const routes: string[] = [];
  // The debug console's API serves its own page (docs/console.md), not API clients.
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'console.ts')) {
    const text = readFileSync(new URL(file, dir), 'utf8');
    for (const match of text.matchAll(/server\.(get|post|delete|put|patch)\(\s*'([^']+)'/g)) {
      routes.push(`${match[1]?.toUpperCase()} ${match[2]?.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

describe('OpenAPI document (schema/openapi.json)', () => {
  it('is current: the committed file is what the zod schemas generate', () => {
    const committed = readFileSync(new URL('schema/openapi.json', root), 'utf8');
    assert.equal(committed, openApiDocumentText(), 'stale: run `node --import tsx scripts/gen-schema.mjs`');
  });

  it('documents every route the server declares, and no other', () => {
    const doc = JSON.parse(openApiDocumentText()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const declared = declaredRoutes();
    assert.ok(declared.length >= 14, `found ${declared.length} routes`);
    assert.deepEqual(documented, declared);
  });
});
