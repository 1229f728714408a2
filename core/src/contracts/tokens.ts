import { z } from 'zod';
import { TIMEFRAMES } from '../time/timeframe.js';

/**
 * A subject token: what may stand between two dots of a NATS subject. We are stricter than NATS
 * (letters, digits, '-' and '_') so a token never needs escaping in a filter or a KV key.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

export function describeTokenProblem(token: string): string | undefined {
  if (token.length === 0) return 'is empty';
  if (token.includes('.')) return "contains '.' (a subject separator)";
  if (token.includes('*') || token.includes('>')) return "contains a wildcard ('*' or '>')";
  if (/\s/.test(token)) return 'contains whitespace';
  if (!TOKEN_PATTERN.test(token)) return "has characters other than letters, digits, '-' and '_'";
  return undefined;
}

const tokenSchema = (what: string) =>
  z.string().superRefine((s, ctx) => {
    const problem = describeTokenProblem(s);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${what} "${s}" ${problem}` });
  });

export const venueToken = tokenSchema('venue');
export const instrumentToken = tokenSchema('instrument');
export const planToken = tokenSchema('plan name');
export const timeframeToken = z.enum(TIMEFRAMES as unknown as [string, ...string[]], {
  errorMap: (_issue, ctx) => ({
    message: `unknown timeframe ${JSON.stringify(ctx.data)}; expected one of ${TIMEFRAMES.join(', ')}`,
  }),
});
