import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planJsonSchema } from '../src/plan/json-schema.js';

const schemaFile = fileURLToPath(new URL('../../docs/plan.schema.json', import.meta.url));
const docsFile = fileURLToPath(new URL('../../docs/plans.md', import.meta.url));
const demoPlanFile = fileURLToPath(new URL('../../plans/demo.yaml', import.meta.url));

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: unknown;
  default?: unknown;
  items?: JsonSchema;
};

interface Field {
  path: string;
  schema: JsonSchema;
  required: boolean;
}

/** Every field of the schema, sections included, as dotted paths in declaration order. */
function fieldsOf(schema: JsonSchema, prefix = ''): Field[] {
  return Object.entries(schema.properties ?? {}).flatMap(([name, child]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    const field = { path, schema: child, required: schema.required?.includes(name) ?? false };
    return [field, ...(child.properties ? fieldsOf(child, path) : [])];
  });
}

/** What the docs' default column must say for a field. */
function defaultCell(field: Field): string {
  if (field.required) return '**required**';
  const value = field.schema.default;
  if (value === undefined || (typeof value === 'object' && !Array.isArray(value))) return '—';
  return `\`${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}\``;
}

/** Rows of the field tables in docs/plans.md: `| \`path\` | type | default | meaning |`. */
function documentedFields(): Map<string, { defaultCell: string }> {
  const rows = new Map<string, { defaultCell: string }>();
  for (const line of readFileSync(docsFile, 'utf8').split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    const path = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (path) rows.set(path, { defaultCell: cells[2] ?? '' });
  }
  return rows;
}

const committed = JSON.parse(readFileSync(schemaFile, 'utf8')) as JsonSchema;

describe('plan JSON Schema', () => {
  it('docs/plan.schema.json is what the schema generates (run `npx tsx --conditions=kokex-source scripts/gen-plan-schema.ts`)', () => {
    expect(committed).toEqual(planJsonSchema());
  });

  it('is draft-07 with an id, a title and a description', () => {
    expect(committed).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'urn:kokex:plan:v1',
      title: 'KOKEX plan',
    });
  });

  it('rejects unknown fields in every mapping but the free-form labels', () => {
    const open = fieldsOf(committed)
      .filter((field) => field.schema.type === 'object' && field.schema.additionalProperties !== false)
      .map((field) => field.path);
    expect(committed.additionalProperties).toBe(false);
    expect(open).toEqual(['metadata.labels']);
  });

  it('requires venue, instrument, timeframe and the money limits of risk', () => {
    const spec = committed.properties?.spec;
    expect(spec?.required).toEqual(['venue', 'instrument', 'timeframe', 'risk']);
    expect(spec?.properties?.risk?.required).toEqual(['maxNotional', 'maxPositionNotional', 'maxDailyLoss']);
  });
});

describe('docs/plans.md', () => {
  const documented = documentedFields();
  const fields = fieldsOf(planJsonSchema());

  it('documents every field of the schema and no other', () => {
    expect([...documented.keys()]).toEqual(fields.map((field) => field.path));
  });

  it('gives every field its true default, or says it is required', () => {
    const documentedDefaults = Object.fromEntries([...documented].map(([path, row]) => [path, row.defaultCell]));
    const schemaDefaults = Object.fromEntries(fields.map((field) => [field.path, defaultCell(field)]));
    expect(documentedDefaults).toEqual(schemaDefaults);
  });

  it('shows the demo plan as its annotated example, word for word', () => {
    const docs = readFileSync(docsFile, 'utf8');
    const example = /## Annotated example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBe(readFileSync(demoPlanFile, 'utf8'));
  });
});
