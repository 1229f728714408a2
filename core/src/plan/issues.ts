import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import type { PlanIssue } from './errors.js';
import type { RefinementParams } from './fields.js';
import { closestMatch } from './suggest.js';
import type { PositionTarget } from './yaml-position.js';
import { positionOf } from './yaml-position.js';
import { describeExpected, fieldNames, listInWords, schemaAt } from './zod-walk.js';

type PathSegment = string | number;

/** The parsed YAML a plan's issues are reported against. */
export interface PlanSource {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The document as plain data (what zod saw). */
  value: unknown;
}

/** `spec.agent.tools[2]`: dots between fields, brackets around list indices. */
export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    return text ? `${text}.${segment}` : segment;
  }, '');
}

interface Lookup {
  exists: boolean;
  value: unknown;
}

function valueAt(root: unknown, path: readonly PathSegment[]): Lookup {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
      return { exists: false, value: undefined };
    }
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return { exists: true, value: current };
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** The line as printed: `file:line:column: path: expected …, found …; did you mean "…"?` */
export function formatIssueMessage(issue: Omit<PlanIssue, 'message'>): string {
  const field = issue.path ? `${issue.path}: ` : '';
  const hint = issue.suggestion === undefined ? '' : `; did you mean "${issue.suggestion}"?`;
  return `${issue.file}:${issue.line}:${issue.column}: ${field}expected ${issue.expected}, found ${issue.found}${hint}`;
}

interface Draft {
  path: PathSegment[];
  target: PositionTarget;
  expected: string;
  found: string;
  suggestion?: string | undefined;
}

function draftsFor(issue: z.ZodIssue, schema: z.ZodTypeAny, source: PlanSource): Draft[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const parent = schemaAt(schema, path);
    const known = parent ? fieldNames(parent) : [];
    return issue.keys.map((key) => ({
      path: [...path, key],
      target: 'key',
      expected: `a known field (${listInWords(known, 'or')})`,
      found: `unknown field "${key}"`,
      suggestion: closestMatch(key, known),
    }));
  }

  const { exists, value } = valueAt(source.value, path);
  const fieldSchema = schemaAt(schema, path);
  const params: RefinementParams = issue.code === 'custom' ? ((issue.params ?? {}) as RefinementParams) : {};
  const expected =
    params.expected ??
    (issue.code === 'invalid_literal' ? JSON.stringify(issue.expected) : undefined) ??
    (fieldSchema ? describeExpected(fieldSchema, value) : issue.message);

  if (!exists) return [{ path, target: 'parent', expected, found: 'nothing (required)' }];
  let found = path.length === 0 && value == null ? 'an empty document' : describeValue(value);
  // "1000" in quotes is a string to YAML; say so, or `found "1000"` looks like a number.
  const detail = params.detail ?? (issue.code === 'invalid_type' && typeof value === 'string' ? 'a string' : undefined);
  if (detail) found += ` (${detail})`;
  const suggestion =
    issue.code === 'invalid_enum_value' && typeof value === 'string' ? closestMatch(value, issue.options.map(String)) : undefined;
  return [{ path, target: 'value', expected, found, suggestion }];
}

/**
 * zod's issues as located, readable plan issues, in file order. The position of each comes from
 * the YAML node its path leads to: the value for a wrong value, the key for an unknown field, the
 * enclosing mapping for a missing one.
 */
export function planIssuesFromZod(issues: readonly z.ZodIssue[], schema: z.ZodTypeAny, source: PlanSource): PlanIssue[] {
  const drafts = issues.flatMap((issue) => draftsFor(issue, schema, source));
  const located = drafts.map((draft) => {
    const { line, column } = positionOf(source.doc, source.lineCounter, draft.path, draft.target);
    const fields: Omit<PlanIssue, 'message'> = {
      file: source.file,
      line,
      column,
      path: formatPath(draft.path),
      expected: draft.expected,
      found: draft.found,
      ...(draft.suggestion === undefined ? {} : { suggestion: draft.suggestion }),
    };
    return { ...fields, message: formatIssueMessage(fields) };
  });
  const unique = [...new Map(located.map((issue) => [issue.message, issue])).values()];
  return unique.sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}
