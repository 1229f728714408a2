import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';
import {
  CATALOGUE_BEGIN,
  CATALOGUE_END,
  renderCatalogueTables,
  SUBJECT_CATALOGUE,
  SUBJECT_FAMILIES,
  type SubjectFamily,
  streamOf,
  subject,
  Transport,
  withCatalogueTables,
} from '../src/index.js';

const ROOT = resolve(__dirname, '../..');

/** Every contract `@kokex/core` exports: one value per message type and version. */
function exportedContracts(): Array<{ name: string; type: string; version: number }> {
  const out: Array<{ name: string; type: string; version: number }> = [];
  for (const [name, value] of Object.entries(core)) {
    const c = value as Partial<core.Contract<unknown>> | null;
    if (c && typeof c === 'object' && typeof c.type === 'string' && typeof c.version === 'number' && typeof c.decode === 'function') {
      out.push({ name, type: c.type, version: c.version });
    }
  }
  return out;
}

/** `type@version` keys that occur more than once, with where. */
function duplicates(decls: Array<{ where: string; type: string; version: number }>): string[] {
  const seen = new Map<string, string[]>();
  for (const d of decls) seen.set(`${d.type}@${d.version}`, [...(seen.get(`${d.type}@${d.version}`) ?? []), d.where]);
  return [...seen].filter(([, where]) => where.length > 1).map(([key, where]) => `${key}: ${where.join(', ')}`);
}

const DECLARATION = /defineContract\(\s*\{\s*type:\s*'([^']+)',\s*version:\s*(\d+)/g;

/** The contract declarations in one source text (`defineContract({ type: '…', version: N`). */
function declarationsIn(where: string, text: string): Array<{ where: string; type: string; version: number }> {
  return [...text.matchAll(DECLARATION)].map((m) => ({ where, type: m[1] ?? '', version: Number(m[2]) }));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * Where `defineContract` may appear outside core's contracts: test fixtures (message types of test
 * actors), and the benchmark's stand-in third-party plugin (`bench.msg` is no KOKEX message).
 */
function allowedOutsideCore(path: string): boolean {
  return /(^|\/)test\//.test(path) || path.startsWith('scripts/bench/plugin/');
}

describe('one contract per message type, all in core', () => {
  it('finds a duplicate and a stray declaration when there is one (the checks can fail)', () => {
    const decls = [
      ...declarationsIn('a.ts', "export const A = defineContract({ type: 'x.y', version: 1, schema });"),
      ...declarationsIn('b.ts', "export const B = defineContract({\n  type: 'x.y',\n  version: 1,\n  schema,\n});"),
      ...declarationsIn('c.ts', "defineContract({ type: 'x.y', version: 2, schema })"),
    ];
    expect(duplicates(decls)).toEqual(['x.y@1: a.ts, b.ts']);
    expect(allowedOutsideCore('actors/agent/src/contracts.ts')).toBe(false);
    expect(allowedOutsideCore('actors/agent/test/agent.test.ts')).toBe(true);
  });

  it('declares no type and version twice among the contracts core exports', () => {
    const contracts = exportedContracts();
    expect(contracts.length).toBeGreaterThan(15);
    expect(duplicates(contracts.map((c) => ({ where: c.name, type: c.type, version: c.version })))).toEqual([]);
  });

  it('declares no type and version twice anywhere in the source tree, and no contract outside core', async () => {
    const decls: Array<{ where: string; type: string; version: number }> = [];
    const stray: string[] = [];
    for (const top of ['core/src', 'actors', 'plugins', 'models', 'scripts']) {
      for (const file of await sourceFiles(join(ROOT, top))) {
        const path = relative(ROOT, file);
        const text = await readFile(file, 'utf8');
        if (!text.includes('defineContract')) continue;
        const found = declarationsIn(path, text);
        if (path.startsWith('core/src/')) decls.push(...found);
        else if (!allowedOutsideCore(path) && /defineContract\s*\(/.test(text)) stray.push(path);
      }
    }
    expect(stray, 'defineContract outside core: move the contract into core/src/contracts/').toEqual([]);
    expect(duplicates(decls)).toEqual([]);
    // Every declaration in core is exported from its public face.
    const exported = new Set(exportedContracts().map((c) => `${c.type}@${c.version}`));
    expect(decls.map((d) => `${d.type}@${d.version}`).filter((k) => !exported.has(k))).toEqual([]);
  });
});

/** A concrete subject of the family, with plausible tokens. */
function sampleSubject(family: SubjectFamily): string {
  const key = Object.fromEntries(SUBJECT_FAMILIES[family].keys.map((k) => [k, k === 'tf' ? '1m' : `x${k}`]));
  return subject(family, key as never);
}

describe('the subject catalogue', () => {
  it('has one entry for every subject family and none for a family that does not exist', () => {
    expect(Object.keys(SUBJECT_CATALOGUE).sort()).toEqual(Object.keys(SUBJECT_FAMILIES).sort());
  });

  it("names each family's stream as the topology stores it, and no stream for core NATS and request families", () => {
    for (const family of Object.keys(SUBJECT_FAMILIES) as SubjectFamily[]) {
      const entry = SUBJECT_CATALOGUE[family];
      const stored = streamOf(sampleSubject(family));
      if (entry.transport === Transport.stream) expect(stored, family).toBe(entry.stream);
      else {
        expect(stored, family).toBeUndefined();
        expect(entry.stream, family).toBeUndefined();
      }
    }
  });

  it('names only message types core declares, and every one core declares', () => {
    const contracts = exportedContracts();
    const declared = new Set(contracts.map((c) => `${c.type}@${c.version}`));
    const named = Object.entries(SUBJECT_CATALOGUE).flatMap(([family, e]) => e.messages.map((x) => ({ family, key: `${x.type}@${x.version}` })));
    expect(named.filter((n) => !declared.has(n.key))).toEqual([]);
    const catalogued = new Set(named.map((n) => n.key));
    expect(contracts.filter((c) => !catalogued.has(`${c.type}@${c.version}`)).map((c) => c.name)).toEqual([]);
    // Request/reply families carry no envelope; everything else does.
    for (const [family, e] of Object.entries(SUBJECT_CATALOGUE)) {
      expect(e.messages.length === 0, family).toBe(e.transport === Transport.request);
      expect(e.producers.length, family).toBeGreaterThan(0);
      expect(e.description.length, family).toBeGreaterThan(10);
    }
  });

  it('docs/subjects.md shows exactly the generated tables (run `npm run docs:subjects`)', async () => {
    const text = await readFile(join(ROOT, 'docs/subjects.md'), 'utf8');
    const begin = text.indexOf(CATALOGUE_BEGIN);
    const end = text.indexOf(CATALOGUE_END);
    expect(begin).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(begin);
    expect(text.slice(begin + CATALOGUE_BEGIN.length, end).trim()).toBe(renderCatalogueTables().trim());
    expect(withCatalogueTables(text)).toBe(text);
  });

  it('renders a changed catalogue differently (the docs check can fail)', () => {
    const tables = renderCatalogueTables();
    for (const family of Object.keys(SUBJECT_FAMILIES)) expect(tables).toContain(`| ${family} | \``);
    const fewer = renderCatalogueTables({ streams: [], kv: [], objectStores: [] });
    expect(fewer).not.toBe(tables);
    expect(tables).toContain('| MD_CANDLES | `kokex.md.candle.>` |');
    expect(fewer).not.toContain('| MD_CANDLES | `kokex.md.candle.>` |');
  });
});
