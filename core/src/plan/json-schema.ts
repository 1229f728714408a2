import { zodToJsonSchema } from 'zod-to-json-schema';
import { notesOf } from './fields.js';
import { PLAN_API_VERSION, PLAN_KIND, planSchema } from './schema.js';

export const PLAN_JSON_SCHEMA_ID = 'urn:kokex:plan:v1';

/**
 * The plan schema as JSON Schema (draft-07) for editors: descriptions, defaults, enums, patterns
 * and `additionalProperties: false` everywhere. Everything is inlined (no `$ref`) so an editor
 * shows each field's own description. Cross-field rules (an instrument in allowInstruments, a
 * schedule for scheduled_decision) are only enforced by `parsePlan`.
 */
export function planJsonSchema(): Record<string, unknown> {
  const generated = zodToJsonSchema(planSchema, {
    target: 'jsonSchema7',
    $refStrategy: 'none',
    // Tokens, durations and schedules are refinements zod-to-json-schema cannot see into;
    // their notes carry the equivalent pattern.
    postProcess: (jsonSchema, def) => {
      const extra = notesOf(def)?.jsonSchema;
      return jsonSchema && extra ? { ...jsonSchema, ...extra } : jsonSchema;
    },
  }) as Record<string, unknown>;
  const { $schema, ...body } = generated;
  return {
    $schema,
    $id: PLAN_JSON_SCHEMA_ID,
    title: 'KOKEX plan',
    description: `A KOKEX trading plan (apiVersion ${PLAN_API_VERSION}, kind ${PLAN_KIND}): venue, instrument, timeframe, data, model, forecast, agent and risk limits. Reference: docs/plans.md.`,
    ...body,
  };
}

/** The JSON Schema as the text committed in docs/plan.schema.json. */
export function planJsonSchemaText(): string {
  return `${JSON.stringify(planJsonSchema(), null, 2)}\n`;
}
