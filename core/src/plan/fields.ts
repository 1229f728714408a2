import { z } from 'zod';
import { TOKEN_PATTERN, describeTokenProblem } from '../contracts/tokens.js';
import { DURATION_PATTERN, describeDurationProblem, describeScheduleProblem } from './schedule.js';

/**
 * What the error formatter and the JSON Schema need to know about a field beyond its zod type.
 * zod cannot say what a refinement expects, and zod-to-json-schema cannot see inside one, so fields
 * built from refinements (tokens, durations, schedules) carry these notes beside them.
 */
export interface FieldNotes {
  /** Replaces the generic "expected …" text; a function sees the value that failed. */
  expected?: string | ((found: unknown) => string);
  /** Extra JSON Schema keywords for editors, merged into the generated schema. */
  jsonSchema?: Record<string, unknown>;
}

/**
 * Keyed by zod definition, which is also what zod-to-json-schema hands to `postProcess`. Notes go
 * on after `.describe()` (it copies the definition) and before `.default()` or `.optional()`
 * (they wrap it, so the noted definition stays inside).
 */
const notesByDef = new WeakMap<z.ZodTypeDef, FieldNotes>();

export function withNotes<T extends z.ZodTypeAny>(schema: T, notes: FieldNotes): T {
  notesByDef.set(schema._def, notes);
  return schema;
}

export function notesOf(def: z.ZodTypeDef): FieldNotes | undefined {
  return notesByDef.get(def);
}

/**
 * Issue params set by our refinements: `expected` overrides the formatter's text, `detail` says
 * what is wrong with the value found.
 */
export interface RefinementParams {
  expected?: string;
  detail?: string;
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

function tokenExpectation(noun: string): (found: unknown) => string {
  return (found) => {
    if (typeof found !== 'string') return `${withArticle(noun)} (letters, digits, '-' and '_')`;
    const problem = describeTokenProblem(found);
    if (problem === 'is empty') return `a non-empty ${noun}`;
    if (problem?.startsWith('has characters')) return `${withArticle(noun)} of letters, digits, '-' and '_'`;
    return `${withArticle(noun)} without '.', '*', '>' or spaces`;
  };
}

/**
 * A subject token field built on one of core's token schemas (venueToken, instrumentToken …);
 * `noun` names it in errors ("instrument id").
 */
export function tokenField<T extends z.ZodTypeAny>(token: T, noun: string, description: string): T {
  return withNotes(token.describe(description), {
    expected: tokenExpectation(noun),
    jsonSchema: { pattern: TOKEN_PATTERN.source },
  });
}

/** A token field for names core has no token schema for (model names, provider plugins). */
export function nameToken(noun: string, description: string) {
  const token = z.string().superRefine((value, ctx) => {
    const problem = describeTokenProblem(value);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${noun} "${value}" ${problem}` });
  });
  return tokenField(token, noun, description);
}

export function durationField(description: string) {
  const duration = z.string().superRefine((value, ctx) => {
    const detail = describeDurationProblem(value);
    if (detail) {
      const params: RefinementParams = { detail };
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a duration: ${detail}`, params });
    }
  });
  return withNotes(duration.describe(description), {
    expected: 'a duration such as 90s, 15m, 24h, 7d or 2w',
    jsonSchema: { pattern: DURATION_PATTERN.source },
  });
}

const SCHEDULE_SHAPE_PATTERN = '^(?:[1-9][0-9]*[smhdw]|\\S+(?:[ \\t]+\\S+){4})$';

export function scheduleField(description: string) {
  const schedule = z.string().superRefine((value, ctx) => {
    const detail = describeScheduleProblem(value);
    if (detail) {
      const params: RefinementParams = { detail };
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${value}" is not a schedule: ${detail}`, params });
    }
  });
  return withNotes(schedule.describe(description), {
    expected: 'an interval such as 24h or a cron expression such as "0 */6 * * *"',
    // The shape only (a duration, or five fields); field ranges are checked by parsePlan.
    jsonSchema: { pattern: SCHEDULE_SHAPE_PATTERN },
  });
}

/** A probability strictly between 0 and 1 (0 and 1 themselves make no sense as band edges or rates). */
export function probabilityField(description: string) {
  return z.number().gt(0).lt(1).describe(description);
}

/** A list whose items may each appear once; a repeat is reported at the repeated item. */
export function uniqueListField<T extends z.ZodTypeAny>(item: T, what: string, description: string) {
  return z
    .array(item)
    .min(1)
    .superRefine((items, ctx) => {
      items.forEach((value, index) => {
        const first = items.indexOf(value);
        if (first === index) return;
        const params: RefinementParams = {
          expected: `each ${what} at most once`,
          detail: `also at [${first}]`,
        };
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [index], message: `repeated ${what}`, params });
      });
    })
    .describe(description);
}
