import { z } from 'zod';
import { notesOf } from './fields.js';

type PathSegment = string | number;

/** The schema and the schemas it wraps (default, optional, refinements), outermost first. */
export function layersOf(schema: z.ZodTypeAny): z.ZodTypeAny[] {
  const layers: z.ZodTypeAny[] = [];
  let current: z.ZodTypeAny | undefined = schema;
  while (current) {
    layers.push(current);
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current._def.innerType as z.ZodTypeAny;
    } else if (current instanceof z.ZodEffects) {
      current = current._def.schema as z.ZodTypeAny;
    } else {
      current = undefined;
    }
  }
  return layers;
}

/** The schema that decides the shape: a field's schema without its wrappers. */
export function baseOf(schema: z.ZodTypeAny): z.ZodTypeAny {
  const layers = layersOf(schema);
  return layers[layers.length - 1] ?? schema;
}

/** The schema that validates the value at `path`, or undefined where the path leaves the schema. */
export function schemaAt(root: z.ZodTypeAny, path: readonly PathSegment[]): z.ZodTypeAny | undefined {
  let current: z.ZodTypeAny | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    const base = baseOf(current);
    if (base instanceof z.ZodObject) current = (base.shape as Record<string, z.ZodTypeAny>)[String(segment)];
    else if (base instanceof z.ZodArray && typeof segment === 'number') current = base.element as z.ZodTypeAny;
    else if (base instanceof z.ZodRecord) current = base._def.valueType as z.ZodTypeAny;
    else return undefined;
  }
  return current;
}

/** Field names of the mapping schema at hand, in declaration order. */
export function fieldNames(schema: z.ZodTypeAny): string[] {
  const base = baseOf(schema);
  return base instanceof z.ZodObject ? Object.keys(base.shape as object) : [];
}

function requiredFieldNames(object: z.AnyZodObject): string[] {
  return Object.entries(object.shape as Record<string, z.ZodTypeAny>)
    .filter(([, field]) => !field.isOptional())
    .map(([name]) => name);
}

/** `a, b and c` (or `a, b or c`). */
export function listInWords(items: readonly string[], conjunction: 'and' | 'or' = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}

function describeNumber(schema: z.ZodNumber): string {
  const checks = schema._def.checks;
  const noun = checks.some((check) => check.kind === 'int') ? 'an integer' : 'a number';
  const min = checks.find((check) => check.kind === 'min');
  const max = checks.find((check) => check.kind === 'max');
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
  const bounds: string[] = [];
  if (min) bounds.push(`${min.inclusive ? 'at least' : 'greater than'} ${min.value}`);
  if (max) bounds.push(`${max.inclusive ? 'at most' : 'less than'} ${max.value}`);
  return bounds.length ? `${noun} ${bounds.join(' and ')}` : noun;
}

/**
 * What a field expects, in words, for "expected …" in an error: the field's own notes when it has
 * them, else read from its zod type and checks.
 */
export function describeExpected(schema: z.ZodTypeAny, found: unknown): string {
  for (const layer of layersOf(schema)) {
    const expected = notesOf(layer._def)?.expected;
    if (typeof expected === 'string') return expected;
    if (expected) return expected(found);
  }
  const base = baseOf(schema);
  if (base instanceof z.ZodNumber) return describeNumber(base);
  if (base instanceof z.ZodString) {
    if (base._def.checks.some((check) => check.kind === 'url')) return 'a URL';
    return base._def.checks.some((check) => check.kind === 'min') ? 'a non-empty string' : 'a string';
  }
  if (base instanceof z.ZodBoolean) return 'true or false';
  if (base instanceof z.ZodEnum) return `one of ${(base.options as string[]).join(', ')}`;
  if (base instanceof z.ZodLiteral) return JSON.stringify(base.value);
  if (base instanceof z.ZodArray) return base._def.minLength ? 'a non-empty list' : 'a list';
  if (base instanceof z.ZodRecord) return 'a mapping';
  if (base instanceof z.ZodObject) {
    const required = requiredFieldNames(base);
    return required.length ? `a mapping with ${listInWords(required)}` : 'a mapping';
  }
  return 'a valid value';
}
