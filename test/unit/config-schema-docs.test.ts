import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { configJsonSchemaText } from '../../src/config/config-json-schema.js';
import { envBindings } from '../../src/config/env.js';
import { withEnvTable } from '../../src/config/env-table.js';

const regenerate = 'stale: run `node --import tsx scripts/gen-schema.mjs`';

type JsonSchema = { properties?: Record<string, JsonSchema>; items?: JsonSchema; additionalProperties?: unknown; type?: string };

/** Every key path of a YAML document that the JSON Schema does not declare. */
function undeclared(value: unknown, schema: JsonSchema | undefined, path: string): string[] {
  if (schema === undefined) return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => undeclared(item, schema.items, `${path}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  // A record (webhook headers) takes any key.
  if (schema.properties === undefined) return [];
  return Object.entries(value).flatMap(([key, inner]) => undeclared(inner, schema.properties?.[key], path === '' ? key : `${path}.${key}`));
}

describe('herald.yaml JSON Schema and the HERALD_* table', () => {
  it('is published as schema/herald-config.schema.json, generated from the zod schema', () => {
    const committed = readFileSync(new URL('../../schema/herald-config.schema.json', import.meta.url), 'utf8');
    assert.equal(committed, configJsonSchemaText(), regenerate);
  });

  it('declares every key config/herald.example.yaml uses, and refuses unknown ones as Herald does', () => {
    const schema = JSON.parse(configJsonSchemaText()) as JsonSchema;
    const example = parse(readFileSync(new URL('../../config/herald.example.yaml', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(undeclared(example, schema, ''), []);
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties?.server?.properties?.port?.type, 'integer');
  });

  it('accepts config/herald.example.yaml and refuses what Herald refuses key by key (validated with ajv, as an editor would)', () => {
    const validate = new Ajv2020({ strict: false, validateFormats: false, allErrors: true }).compile(JSON.parse(configJsonSchemaText()) as object);
    const example = parse(readFileSync(new URL('../../config/herald.example.yaml', import.meta.url), 'utf8')) as unknown;
    assert.ok(validate(example), JSON.stringify(validate.errors));
    for (const wrong of [{ server: { port: 70_000 } }, { server: { prot: 1 } }, { log: { level: 'loud' } }, { apps: [{ id: 'a b', key: 'k', secret: 'long-enough' }] }, { gateway: { trustedProxies: 'x' } }]) {
      assert.equal(validate(wrong), false, JSON.stringify(wrong));
    }
    assert.ok(validate({ server: { port: 7000 }, apps: [{ id: 'a', key: 'k', secret: 'long-enough' }] }), JSON.stringify(validate.errors));
  });

  it('docs/configuration.md lists every variable, current with the schema', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    assert.equal(doc, withEnvTable(doc), regenerate);
    for (const binding of envBindings) assert.ok(doc.includes(`| \`${binding.path.join('.')}\` | \`${binding.env}\``), binding.env);
    assert.match(doc, /`HERALD_SERVER_HOST` or `HERALD_HOST`/);
  });

  it('README points at both', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.match(readme, /docs\/configuration\.md/);
    assert.match(readme, /schema\/herald-config\.schema\.json/);
  });
});
