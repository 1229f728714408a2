import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { ensureBuild, ROOT } from './build-support.js';

/** Every workspace package with TypeScript sources: core, actors, plugins (libraries too), models. */
function sourcePackages(): string[] {
  const groups = ['actors', 'plugins', 'models'].flatMap((g) => readdirSync(join(ROOT, g)).map((n) => `${g}/${n}`));
  return ['core', ...groups].filter((d) => existsSync(join(ROOT, d, 'package.json')) && existsSync(join(ROOT, d, 'src')));
}

type Conditions = Record<string, string>;

/** Refuses tsx and every TypeScript module in the process it is imported into. */
const GUARD_HOOKS = `export async function resolve(specifier, context, next) {
  if (/^tsx(\\/|$)/.test(specifier)) throw new Error('tsx imported at run time: ' + specifier + ' from ' + context.parentURL);
  const r = await next(specifier, context);
  if (/\\.[cm]?tsx?$/.test(new URL(r.url).pathname)) throw new Error('TypeScript module at run time: ' + r.url);
  return r;
}
`;

function collect(child: ChildProcess): { out: () => string } {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return { out: () => out };
}

describe('the compiled build', () => {
  let nats: TestNats;
  let dir: string;
  let guard: string;
  beforeAll(async () => {
    await ensureBuild();
    nats = await startTestNats();
    dir = await mkdtemp(join(tmpdir(), 'kokex-build-'));
    await writeFile(join(dir, 'guard-hooks.mjs'), GUARD_HOOKS);
    guard = join(dir, 'guard.mjs');
    await writeFile(guard, `import { register } from 'node:module';\nregister('./guard-hooks.mjs', import.meta.url);\n`);
  }, 600_000);
  afterAll(async () => {
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('compiles every package: each export has its source, its types and its JavaScript', () => {
    const packages = sourcePackages();
    expect(packages.length).toBeGreaterThan(10);
    const referenced = (
      JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { references: { path: string }[] }
    ).references.map((r) => r.path);
    const problems: string[] = [];
    for (const pkgDir of packages) {
      if (!referenced.includes(`${pkgDir}/tsconfig.build.json`)) problems.push(`${pkgDir}: not referenced by tsconfig.build.json`);
      if (!existsSync(join(ROOT, pkgDir, 'tsconfig.build.json'))) problems.push(`${pkgDir}: no tsconfig.build.json`);
      const pkg = JSON.parse(readFileSync(join(ROOT, pkgDir, 'package.json'), 'utf8')) as { exports?: Record<string, string | Conditions> };
      for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
        if (typeof target === 'string') {
          if (target.endsWith('.ts')) problems.push(`${pkgDir} exports ${subpath} as TypeScript only (${target})`);
          continue;
        }
        const keys = Object.keys(target);
        if (keys[0] !== 'kokex-source') problems.push(`${pkgDir} exports ${subpath}: kokex-source must come first, got ${keys.join(', ')}`);
        for (const [condition, file] of Object.entries(target)) {
          if (!existsSync(join(ROOT, pkgDir, file))) problems.push(`${pkgDir} exports ${subpath} [${condition}] ${file}: missing`);
        }
        if (!target.default?.startsWith('./dist/') || !target.default.endsWith('.js'))
          problems.push(`${pkgDir} exports ${subpath}: default is not dist JavaScript`);
        if (!target.types?.startsWith('./dist/') || !target.types.endsWith('.d.ts'))
          problems.push(`${pkgDir} exports ${subpath}: types are not dist .d.ts`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('runs `kokex host --actors clock` from dist with no tsx and no TypeScript loaded: healthy, the clock running', async () => {
    const env = { ...process.env, NATS_URL: nats.url, LOG_LEVEL: 'error' };
    const host = spawn(process.execPath, ['--import', guard, 'core/dist/cli/main.js', 'host', '--actors', 'clock', '--metrics-port', '0'], {
      cwd: ROOT,
      env,
    });
    const log = collect(host);
    try {
      let health = '';
      await eventually(() => {
        health = /health (http:\/\/\S+\/healthz)/.exec(log.out())?.[1] ?? '';
        if (host.exitCode !== null) throw new Error(`the compiled host exited ${host.exitCode}: ${log.out()}`);
        return health !== '';
      }, 60_000);
      expect((await fetch(health)).status).toBe(200);
      await eventually(async () => (await fetch(health.replace(/healthz$/, 'readyz'))).status === 200, 30_000);
      // The compiled CLI (through the bin, asked for the build) lists the clock actor that host runs.
      let listing = '';
      await eventually(
        async () => {
          const cli = spawn(process.execPath, ['--import', guard, 'core/bin/kokex.mjs', 'actors', '--json'], {
            cwd: ROOT,
            env: { ...env, KOKEX_RUN: 'dist' },
          });
          const out = collect(cli);
          const code = await new Promise((r) => cli.once('close', r));
          listing = out.out();
          return code === 0 && /"kind":\s*"clock"/.test(listing) && /"state":\s*"running"/.test(listing);
        },
        60_000,
        500,
      );
      expect(listing).not.toMatch(/TypeScript module|tsx imported/);
    } finally {
      host.kill('SIGINT');
      const code = await new Promise((r) => (host.exitCode !== null ? r(host.exitCode) : host.once('exit', r)));
      expect(code).toBe(0);
    }
    expect(log.out()).not.toMatch(/TypeScript module|tsx imported|Error/);
  });
});
