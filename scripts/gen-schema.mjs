#!/usr/bin/env node
// Writes schema/notification.schema.json from the zod schema (src/notifications/contract/notification-schema.ts).
// Run: node --import tsx scripts/gen-schema.mjs   (test/unit/notification-schema.test.ts fails while the file is stale)
import { writeFileSync } from 'node:fs';

const { notificationJsonSchemaText } = await import('../src/notifications/contract/notification-json-schema.ts');
const target = new URL('../schema/notification.schema.json', import.meta.url);
writeFileSync(target, notificationJsonSchemaText());
console.log(`wrote ${target.pathname}`);
