import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

/**
 * The import rules of docs/architecture.md ("Packages and the import rules"), checked on source
 * text with the TypeScript parser (no type-checking, no regular expressions): every import,
 * re-export, `import()` and `import x = require()` of every .ts file under core/, actors/*,
 * plugins/*, models/* and scripts/. Pure over its inputs, so the rules are unit-tested on small
 * in-memory workspaces (import-rules.test.ts) as well as run on the real one.
 */

/**
 * What a package is, from where it lives and its manifest:
 * - `core`: `core/`.
 * - `actor`: `actors/*`.
 * - `plugin`: `plugins/*` with a `kokex` manifest (adapters, actor kinds or commands the host loads).
 * - `library`: shared code with no manifest (`plugins/llm-common`, `models/kronos-runtime`): the
 *   host never loads it; plugins and actors may use it; it depends on core and other libraries only.
 */
export type PackageKind = 'core' | 'actor' | 'plugin' | 'library';

export interface PackageInfo {
  /** `@kokex/…` */
  name: string;
  /** Repository-relative folder, `/`-separated (`plugins/okx`). */
  dir: string;
  kind: PackageKind;
  /** Declared subpath exports: `.`, `./testing`, … */
  exports: readonly string[];
}

export interface SourceText {
  /** Repository-relative path, `/`-separated. */
  path: string;
  text: string;
}

export const ImportRule = {
  /** core imports an actor, a plugin, a library, or a file outside core. */
  coreOutward: 'core-outward',
  /** An actor's code imports a plugin package (it reaches adapters through core's ports). */
  actorImportsPlugin: 'actor-imports-plugin',
  /** An actor's code imports another actor (they talk over the bus). */
  actorImportsActor: 'actor-imports-actor',
  /** A plugin's code imports an actor. */
  pluginImportsActor: 'plugin-imports-actor',
  /** A plugin's code imports another plugin (shared code goes to core or a library). */
  pluginImportsPlugin: 'plugin-imports-plugin',
  /** A library imports an actor or a plugin. */
  libraryOutward: 'library-outward',
  /** A file imports another package's file other than its entry or a declared subpath export. */
  internalFile: 'internal-file',
  /** A script imports a file of a package's test folder. */
  scriptImportsTest: 'script-imports-test',
  /** Packages import each other in a circle (through their src). */
  packageCycle: 'package-cycle',
  /** Files of one package import each other in a circle (runtime imports). */
  fileCycle: 'file-cycle',
} as const;
export type ImportRule = (typeof ImportRule)[keyof typeof ImportRule];

export interface ImportViolation {
  rule: ImportRule;
  /** The importing file (for a cycle: its first file, or the first package's folder). */
  file: string;
  line: number;
  /** The import specifier (for a cycle: the cycle, `a → b → a`). */
  specifier: string;
  detail: string;
}

/** A known violation, listed with its reason until the change that removes it lands. */
export interface AllowedViolation {
  rule: ImportRule;
  file: string;
  specifier: string;
  why: string;
}

interface ImportRef {
  specifier: string;
  line: number;
  typeOnly: boolean;
}

/** Every module specifier a file names, with its line and whether TypeScript erases it. */
export function importsOf(path: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (specifier && ts.isStringLiteralLike(specifier))
      refs.push({ specifier: specifier.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const allTypes =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node, node.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(node)) {
      const allTypes =
        node.isTypeOnly ||
        (!!node.exportClause &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.length > 0 &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      add(node, node.moduleSpecifier, allTypes);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

const isTestFile = (pkg: PackageInfo, path: string) => path.startsWith(`${pkg.dir}/test/`);

/** The package a path belongs to (the longest folder that contains it). */
function ownerOf(packages: readonly PackageInfo[], path: string): PackageInfo | undefined {
  let best: PackageInfo | undefined;
  for (const p of packages) if (path.startsWith(`${p.dir}/`) && (!best || p.dir.length > best.dir.length)) best = p;
  return best;
}

/** A relative specifier as the file it names, among the known files (TypeScript's `.js` → `.ts` too). */
function resolveRelative(from: string, specifier: string, files: ReadonlySet<string>): string {
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => files.has(c)) ?? base.replace(/\.js$/, '.ts');
}

/** `@kokex/name/sub/path` → [`@kokex/name`, `./sub/path`]. */
function splitBare(specifier: string): [string, string] {
  const parts = specifier.split('/');
  const name = parts.slice(0, 2).join('/');
  const rest = parts.slice(2).join('/');
  return [name, rest ? `./${rest}` : '.'];
}

/** Which layer may import which, for non-test code. Returns the rule broken, if any. */
function layerRule(from: PackageInfo, to: PackageInfo): ImportRule | undefined {
  if (from === to) return undefined;
  switch (from.kind) {
    case 'core':
      return ImportRule.coreOutward;
    case 'actor':
      return to.kind === 'plugin' ? ImportRule.actorImportsPlugin : to.kind === 'actor' ? ImportRule.actorImportsActor : undefined;
    case 'plugin':
      return to.kind === 'actor' ? ImportRule.pluginImportsActor : to.kind === 'plugin' ? ImportRule.pluginImportsPlugin : undefined;
    case 'library':
      return to.kind === 'actor' || to.kind === 'plugin' ? ImportRule.libraryOutward : undefined;
  }
}

/** Elementary cycles of a graph, each once, as paths that start and end at their smallest node. */
function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  // Tarjan's strongly connected components; one shortest cycle through each component's smallest node.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  for (const component of components) {
    const members = new Set(component);
    const start = [...members].sort()[0] as string;
    if (component.length === 1 && !graph.get(start)?.has(start)) continue;
    // Breadth-first from start back to start, inside the component.
    const previous = new Map<string, string>();
    const queue = [start];
    let found = false;
    while (queue.length > 0 && !found) {
      const v = queue.shift() as string;
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          previous.set(start, v);
          found = true;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = previous.get(start) as string; v !== start; v = previous.get(v) as string) path.unshift(v);
    path.unshift(start);
    const key = path.join(' ');
    if (!seen.has(key)) {
      seen.add(key);
      cycles.push(path);
    }
  }
  return cycles;
}

/**
 * Every broken rule in a workspace. Test files (`<package>/test/`) may import any package's public
 * face as a fixture (the OKX simulator, a whole order path), except core's tests, which import
 * core only; everything else applies to them as to src.
 */
export function checkImports(packages: readonly PackageInfo[], sources: readonly SourceText[]): ImportViolation[] {
  const violations: ImportViolation[] = [];
  const byName = new Map(packages.map((p) => [p.name, p]));
  const files = new Set(sources.map((s) => s.path));
  const packageEdges = new Map<string, Set<string>>(packages.map((p) => [p.name, new Set<string>()]));
  const fileEdges = new Map<string, Set<string>>();
  const at = new Map<string, number>();

  for (const source of sources) {
    const from = ownerOf(packages, source.path);
    const script = !from && source.path.startsWith('scripts/');
    if (!from && !script) continue;
    const test = from ? isTestFile(from, source.path) : false;
    for (const ref of importsOf(source.path, source.text)) {
      const v = (rule: ImportRule, detail: string) =>
        violations.push({ rule, file: source.path, line: ref.line, specifier: ref.specifier, detail });
      let to: PackageInfo | undefined;
      if (ref.specifier.startsWith('.')) {
        const target = resolveRelative(source.path, ref.specifier, files);
        to = ownerOf(packages, target);
        if (from && to === from) {
          if (!ref.typeOnly) {
            const edges = fileEdges.get(source.path) ?? new Set<string>();
            edges.add(target);
            fileEdges.set(source.path, edges);
            at.set(`${source.path} ${target}`, ref.line);
          }
          continue;
        }
        if (script && !to) continue; // scripts/ among themselves
        if (script && to && isTestFile(to, target)) {
          v(ImportRule.scriptImportsTest, `${target} is a test file of ${to.name}; scripts use public entries (move what is shared out of test/)`);
          continue;
        }
        v(ImportRule.internalFile, `${target} is inside ${to ? to.name : 'no package'}; import ${to ? `${to.name} (its public face)` : 'nothing outside the package'}`);
        if (!to) continue;
      } else if (ref.specifier.startsWith('@kokex/')) {
        const [name, subpath] = splitBare(ref.specifier);
        to = byName.get(name);
        if (!to) continue;
        if (!to.exports.includes(subpath))
          v(ImportRule.internalFile, `${subpath} is not an export of ${name} (exports: ${to.exports.join(', ')})`);
      } else continue;

      if (!from || to === from) continue;
      if (!test) {
        packageEdges.get(from.name)?.add(to.name);
        at.set(`${from.name} ${to.name}`, at.get(`${from.name} ${to.name}`) ?? ref.line);
      }
      const rule = test ? (from.kind === 'core' ? ImportRule.coreOutward : undefined) : layerRule(from, to);
      if (rule) v(rule, `${from.kind} ${from.name} imports ${to.kind} ${to.name}`);
    }
  }

  for (const cycle of cyclesOf(packageEdges)) {
    const first = byName.get(cycle[0] as string) as PackageInfo;
    violations.push({
      rule: ImportRule.packageCycle,
      file: first.dir,
      line: 0,
      specifier: cycle.join(' → '),
      detail: 'packages import each other in a circle',
    });
  }
  for (const cycle of cyclesOf(fileEdges)) {
    violations.push({
      rule: ImportRule.fileCycle,
      file: cycle[0] as string,
      line: at.get(`${cycle[0]} ${cycle[1]}`) ?? 0,
      specifier: cycle.join(' → '),
      detail: 'files import each other in a circle (runtime imports; `import type` is erased and not counted)',
    });
  }
  return violations;
}

/** One line per violation: `file:line [rule] specifier: detail`. */
export function formatViolation(v: ImportViolation): string {
  return `${v.file}:${v.line} [${v.rule}] ${v.specifier}: ${v.detail}`;
}

/** The violations not allowed, and the allowed ones that no longer occur (the list must shrink with them). */
export function applyAllowList(
  violations: readonly ImportViolation[],
  allowed: readonly AllowedViolation[],
): { unexpected: ImportViolation[]; stale: AllowedViolation[] } {
  const matches = (a: AllowedViolation, v: ImportViolation) => a.rule === v.rule && a.file === v.file && a.specifier === v.specifier;
  return {
    unexpected: violations.filter((v) => !allowed.some((a) => matches(a, v))),
    stale: allowed.filter((a) => !violations.some((v) => matches(a, v))),
  };
}

// --- the real workspace ------------------------------------------------------------------------

const SKIP = new Set(['node_modules', 'dist', '.turbo', 'coverage']);

function tsFiles(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    if (SKIP.has(name) || name.startsWith('.')) continue;
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...tsFiles(root, path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The packages (core, actors/*, plugins/*, models/*) and the .ts files of a checkout. */
export function loadWorkspace(root: string): { packages: PackageInfo[]; sources: SourceText[] } {
  const dirs = ['core', ...['actors', 'plugins', 'models'].flatMap((top) => readdirSync(join(root, top)).map((d) => `${top}/${d}`))];
  const packages: PackageInfo[] = [];
  for (const dir of dirs) {
    const file = join(root, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; exports?: unknown; kokex?: unknown };
    const exports = typeof pkg.exports === 'object' && pkg.exports ? Object.keys(pkg.exports) : ['.'];
    const kind: PackageKind =
      dir === 'core' ? 'core' : dir.startsWith('actors/') ? 'actor' : dir.startsWith('plugins/') && pkg.kokex ? 'plugin' : 'library';
    packages.push({ name: pkg.name, dir, kind, exports });
  }
  const paths = [...packages.flatMap((p) => tsFiles(root, p.dir)), ...tsFiles(root, 'scripts')];
  return { packages, sources: paths.map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') })) };
}
