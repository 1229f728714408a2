/**
 * Writes docs/plan.schema.json from the plan schema in core (`npx tsx --conditions=kokex-source scripts/gen-plan-schema.ts`).
 * A test fails when the committed file and the schema disagree, so run this after changing it.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { planJsonSchemaText } from '@kokex/core';

const target = fileURLToPath(new URL('../docs/plan.schema.json', import.meta.url));
await writeFile(target, planJsonSchemaText());
console.log(`wrote ${target}`);
