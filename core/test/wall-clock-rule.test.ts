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
  return (codeOf(text).match(/\bDate\.now\(\)|\bnew Date\(\s*\)/g) ?? []).length;
}

/**
 * The injected wall `Clock` is for infrastructure too: decision code reads the plan's market clock
 * (`ctx.marketClocks`), so a `clock.now()` is a wall-time read like `Date.now()`. This ratchet
 * lists the calls per file with why each is wall time; a new one fails.
 */
const INJECTED_ALLOWED: Record<string, [number, string]> = Object.fromEntries(
  Object.entries(
    JSON.parse(readFileSync(resolve(__dirname, 'fixtures/injected-clock-allowed.json'), 'utf8')) as Record<string, unknown>,
  ).filter(([file]) => !file.startsWith('_')),
) as Record<string, [number, string]>;
/** Not scanned yet: the risk guard's decisions move to market time in their own change (see the fixture). */
const INJECTED_SKIPPED = ['actors/risk-guard'];

/** Reads of an injected wall clock in code: `clock.now()`, `ctx.clock.now()`, `this.#clock.now()`, `o.clock.now()`. */
export function injectedClockCalls(text: string): number {
  return (codeOf(text).match(/(?:\b|#)clock\.now\(\)/g) ?? []).length;
}

function codeOf(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:])\/\/.*$/gm, '$1')
    .replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, "''");
}

/** Counts `count(text)` over every non-test source of every package under actors/ and plugins/. */
function scan(count: (text: string) => number, skip: readonly string[] = []): Record<string, number> {
  const found: Record<string, number> = {};
  for (const top of SCANNED) {
    for (const pkg of readdirSync(join(ROOT, top))) {
      const dir = join(ROOT, top, pkg);
      if (!statSync(dir).isDirectory() || skip.includes(`${top}/${pkg}`)) continue;
      // Every source of the package but its tests: src/ and any front end (web/src) alike.
      for (const file of sourceFiles(dir)) {
        const n = count(readFileSync(file, 'utf8'));
        if (n > 0) found[relative(ROOT, file)] = n;
      }
    }
  }
  return found;
}

describe('decision code reads a clock it was given', () => {
  it('finds calls in code and not in comments or strings', () => {
    expect(wallClockCalls('const a = Date.now(); // Date.now() here is a comment\nconst b = "new Date()";')).toBe(1);
    expect(wallClockCalls('x = new Date(); y = new Date(ts);')).toBe(1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test, not a template.
    expect(wallClockCalls('id = `chat-${Date.now().toString(36)}`;')).toBe(1);
  });

  it('has no Date.now() / new Date() beyond the listed wall-time uses', () => {
    const allowed = Object.fromEntries(Object.entries(ALLOWED).map(([file, [n]]) => [file, n]));
    expect(scan(wallClockCalls), 'a new Date.now()/new Date() in actor or adapter code: take the time from a clock you were given').toEqual(
      allowed,
    );
  });

  it('finds injected wall-clock reads in code, not a market clock or comments', () => {
    expect(injectedClockCalls('a = ctx.clock.now(); b = this.#clock.now(); c = market.now(); // clock.now()')).toBe(2);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test, not a template.
    expect(injectedClockCalls('id = `x-${this.o.clock.now()}`; s = "clock.now()"; n = marketNow(clock, 0);')).toBe(1);
  });

  it('reads the injected wall clock in actors and adapters only where it is infrastructure (the listed uses)', () => {
    const allowed = Object.fromEntries(Object.entries(INJECTED_ALLOWED).map(([file, [n]]) => [file, n]));
    for (const [file, [, why]] of Object.entries(INJECTED_ALLOWED)) expect(why.length, `${file} needs a reason`).toBeGreaterThan(10);
    expect(
      scan(injectedClockCalls, INJECTED_SKIPPED),
      "a new clock.now() in actor or adapter code: a decision reads the plan's market clock (ctx.marketClocks); list an infrastructure use in fixtures/injected-clock-allowed.json with why",
    ).toEqual(allowed);
  });
});
