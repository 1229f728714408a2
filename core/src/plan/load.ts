import { readFile } from 'node:fs/promises';
import type { Document } from 'yaml';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { PlanIssue } from './errors.js';
import { PlanInvalidError, PlanNotFoundError } from './errors.js';
import { formatIssueMessage, planIssuesFromZod } from './issues.js';
import type { Plan } from './schema.js';
import { planSchema } from './schema.js';
import { describeExpected } from './zod-walk.js';

type Checked = { plan: Plan; doc: Document } | { issues: PlanIssue[] };

function issueAt(
  file: string,
  lineCounter: LineCounter,
  offset: number,
  fields: Pick<PlanIssue, 'path' | 'expected' | 'found'>,
): PlanIssue {
  const { line, col } = lineCounter.linePos(offset);
  const located = { file, line, column: col, ...fields };
  return { ...located, message: formatIssueMessage(located) };
}

function syntaxIssue(file: string, lineCounter: LineCounter, offset: number, reason: string): PlanIssue {
  const issue = issueAt(file, lineCounter, offset, { path: '', expected: 'valid YAML', found: reason });
  return { ...issue, message: `${file}:${issue.line}:${issue.column}: invalid YAML: ${reason}` };
}

function checkDocument(doc: Document, lineCounter: LineCounter, file: string): Checked {
  if (doc.errors.length > 0) {
    return { issues: doc.errors.map((error) => syntaxIssue(file, lineCounter, error.pos[0], error.message)) };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { issues: [syntaxIssue(file, lineCounter, doc.range?.[0] ?? 0, (error as Error).message)] };
  }
  const result = planSchema.safeParse(value);
  if (result.success) return { plan: result.data, doc };
  // A wrong apiVersion or kind means a different shape: the rest of its "errors" would mislead.
  const header = result.error.issues.filter((issue) => issue.code === 'invalid_literal');
  const issues = header.length > 0 ? header : result.error.issues;
  return { issues: planIssuesFromZod(issues, planSchema, { file, doc, lineCounter, value }) };
}

function emptyDocumentIssue(file: string, lineCounter: LineCounter, offset: number): PlanIssue {
  return issueAt(file, lineCounter, offset, {
    path: '',
    expected: describeExpected(planSchema, undefined),
    found: 'an empty document',
  });
}

function parseDocuments(text: string, file: string): { docs: Document[]; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const all = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  // A stray `---` or a comment-only document between plans is not a plan to report on.
  const docs = all.filter((doc) => doc.errors.length > 0 || doc.contents !== null);
  if (docs.length === 0) throw new PlanInvalidError(file, [emptyDocumentIssue(file, lineCounter, 0)]);
  return { docs, lineCounter };
}

function duplicateNameIssues(checked: { plan: Plan; doc: Document }[], file: string, lineCounter: LineCounter): PlanIssue[] {
  const firstLine = new Map<string, number>();
  const issues: PlanIssue[] = [];
  for (const { plan, doc } of checked) {
    const nameNode = doc.getIn(['metadata', 'name'], true) as { range?: [number, number, number] } | undefined;
    const offset = nameNode?.range?.[0] ?? doc.range?.[0] ?? 0;
    const earlier = firstLine.get(plan.metadata.name);
    if (earlier === undefined) {
      firstLine.set(plan.metadata.name, lineCounter.linePos(offset).line);
      continue;
    }
    issues.push(
      issueAt(file, lineCounter, offset, {
        path: 'metadata.name',
        expected: 'a plan name not used earlier in the file',
        found: `${JSON.stringify(plan.metadata.name)} (also on line ${earlier})`,
      }),
    );
  }
  return issues;
}

/**
 * Every plan in a YAML text of one or more documents (`---` between them), validated, defaults
 * filled in. Throws PlanInvalidError listing every issue in every document.
 */
export function parsePlans(text: string, file: string): Plan[] {
  const { docs, lineCounter } = parseDocuments(text, file);
  const results = docs.map((doc) => checkDocument(doc, lineCounter, file));
  const valid = results.filter((result): result is { plan: Plan; doc: Document } => 'plan' in result);
  const issues = [
    ...results.flatMap((result) => ('issues' in result ? result.issues : [])),
    ...duplicateNameIssues(valid, file, lineCounter),
  ];
  if (issues.length > 0) throw new PlanInvalidError(file, issues);
  return valid.map((result) => result.plan);
}

/** The one plan in a YAML text; `file` names it in errors. Throws PlanInvalidError. */
export function parsePlan(text: string, file: string): Plan {
  const { docs, lineCounter } = parseDocuments(text, file);
  const [first, second] = docs;
  if (second) {
    throw new PlanInvalidError(file, [
      issueAt(file, lineCounter, second.range?.[0] ?? 0, {
        path: '',
        expected: 'one plan per file',
        found: `${docs.length} documents`,
      }),
    ]);
  }
  const result = checkDocument(first as Document, lineCounter, file);
  if ('issues' in result) throw new PlanInvalidError(file, result.issues);
  return result.plan;
}

async function readPlanText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PlanNotFoundError(path, 'not found', error);
    if (code === 'EISDIR') throw new PlanNotFoundError(path, 'is a directory, not a file', error);
    throw new PlanNotFoundError(path, `cannot be read (${code ?? (error as Error).message})`, error);
  }
}

/** Reads and validates a plan file holding one plan. Throws PlanNotFoundError or PlanInvalidError. */
export async function loadPlanFile(path: string): Promise<Plan> {
  return parsePlan(await readPlanText(path), path);
}

/** Reads and validates a plan file holding one or more plans. */
export async function loadPlansFile(path: string): Promise<Plan[]> {
  return parsePlans(await readPlanText(path), path);
}
