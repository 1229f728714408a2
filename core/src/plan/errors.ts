import { ErrorCode, KokexError } from '../errors.js';

/** One problem in a plan file, located and explained. */
export interface PlanIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Dotted field path (`spec.risk.maxNotional`, `spec.agent.tools[2]`); empty for the whole document. */
  path: string;
  expected: string;
  found: string;
  /** A likely fix: the known field or value closest to what was found. */
  suggestion?: string;
  /** The whole line as printed: `file:line:column: path: expected …, found …`. */
  message: string;
}

/** A plan file that does not parse or does not validate; `message` has one line per issue. */
export class PlanInvalidError extends KokexError {
  readonly file: string;
  readonly issues: readonly PlanIssue[];

  constructor(file: string, issues: readonly PlanIssue[]) {
    super(ErrorCode.PlanInvalid, issues.map((issue) => issue.message).join('\n'), {
      data: { file, issues: issues.map((issue) => ({ ...issue })) },
    });
    this.file = file;
    this.issues = issues;
  }
}

export class PlanNotFoundError extends KokexError {
  readonly path: string;

  constructor(path: string, reason: string, cause?: unknown) {
    super(ErrorCode.PlanNotFound, `plan file ${path}: ${reason}`, { data: { path }, cause });
    this.path = path;
  }
}
