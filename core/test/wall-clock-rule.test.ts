import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Market time rules decisions: the code of actors and adapters reads a clock it was given (the
 * plan's market clock for decisions, the injected `Clock` for infrastructure timers), never
 * `Date.now()` or `new Date()` directly. This test is a ratchet: the calls that remain are listed
 * below per file with the reason they are wall time by nature; a new one anywhere fails, and so
 * does a listed count that went down without the list following (so the list stays true).
 */
const ROOT = resolve(__dirname, '../..');
const SCANNED = ['actors', 'plugins'];

/** file → [allowed count, why it is wall time]. */
const ALLOWED: Record<string, [number, string]> = JSON.parse(
  readFileSync(resolve(__dirname, 'fixtures/wall-clock-allowed.json'), 'utf8'),
) as Record<string, [number, string]>;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'test' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Calls of the wall clock in code (comments and quoted strings are not code; a template's `${…}` is). */
export function wallClockCalls(text: string): number {
  const code = text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, "''");
  return (code.match(/\bDate\.now\(\)|\bnew Date\(\s*\)/g) ?? []).length;
}

describe('decision code reads a clock it was given', () => {
  it('finds calls in code and not in comments or strings', () => {
    expect(wallClockCalls('const a = Date.now(); // Date.now() here is a comment\nconst b = "new Date()";')).toBe(1);
    expect(wallClockCalls('x = new Date(); y = new Date(ts);')).toBe(1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test, not a template.
    expect(wallClockCalls('id = `chat-${Date.now().toString(36)}`;')).toBe(1);
  });

  it('has no Date.now() / new Date() beyond the listed wall-time uses', () => {
    const found: Record<string, number> = {};
    for (const top of SCANNED) {
      for (const pkg of readdirSync(join(ROOT, top))) {
        const dir = join(ROOT, top, pkg);
        if (!statSync(dir).isDirectory()) continue;
        // Every source of the package but its tests: src/ and any front end (web/src) alike.
        for (const file of sourceFiles(dir)) {
          const n = wallClockCalls(readFileSync(file, 'utf8'));
          if (n > 0) found[relative(ROOT, file)] = n;
        }
      }
    }
    const allowed = Object.fromEntries(Object.entries(ALLOWED).map(([file, [n]]) => [file, n]));
    expect(found, 'a new Date.now()/new Date() in actor or adapter code: take the time from a clock you were given').toEqual(allowed);
  });
});
