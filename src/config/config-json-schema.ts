import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The published JSON Schema of herald.yaml (schema/herald-config.schema.json), generated
 * from the zod schema so editors complete and check the same keys Herald accepts.
 * Input form: keys with defaults are optional. Cross-key rules (superRefine) stay Herald's.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return {
    title: 'Herald configuration (herald.yaml)',
    ...generated,
  };
}

/** The file's exact text: two-space JSON and a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
