#!/usr/bin/env node
// Writes the generated artefacts from the zod schemas:
//   schema/notification.schema.json  (src/notifications/contract/notification-schema.ts)
//   schema/herald-config.schema.json (src/config/schema.ts)
//   schema/openapi.json              (src/http/openapi/openapi-document.ts; test/unit/openapi.test.ts)
//   the HERALD_* table in docs/configuration.md (src/config/env.ts derives it from the config schema)
// Run: node --import tsx scripts/gen-schema.mjs   (test/unit/notification-schema.test.ts and
// test/unit/config-schema-docs.test.ts fail while a file is stale)
import { readFileSync, writeFileSync } from 'node:fs';

const { notificationJsonSchemaText } = await import('../src/notifications/contract/notification-json-schema.ts');
const { configJsonSchemaText } = await import('../src/config/config-json-schema.ts');
const { withEnvTable } = await import('../src/config/env-table.ts');
const { openApiDocumentText } = await import('../src/http/openapi/openapi-document.ts');

const write = (relative, text) => {
  const target = new URL(relative, import.meta.url);
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
};
write('../schema/notification.schema.json', notificationJsonSchemaText());
write('../schema/herald-config.schema.json', configJsonSchemaText());
write('../schema/openapi.json', openApiDocumentText());
write('../docs/configuration.md', withEnvTable(readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8')));
