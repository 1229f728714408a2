import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterPort, HOST_VERSION } from '../src/index.js';
import { HOST_PROVIDED } from '../src/plugin/host-modules.js';
import { ensureBuild, ROOT } from './build-support.js';

const run = promisify(execFile);

async function kokex(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(ROOT, 'core/bin/kokex.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'error' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * `kokex plugin new` for each kind, then the generated package's own tests and typecheck, run as
 * its author would (`npx vitest run`, `tsc --noEmit` in its folder). The folder is a temporary one
 * under the checkout's .scratch/ so that @kokex/core, zod, vitest and LangChain resolve from the
 * checkout's node_modules without an install: @kokex/core as its compiled build (no source
 * condition there), the same code the published package carries.
 */
describe('kokex plugin new', () => {
  let root: string;
  beforeAll(async () => {
    await ensureBuild();
    await mkdir(join(ROOT, '.scratch'), { recursive: true });
    root = await mkdtemp(join(ROOT, '.scratch', 'scaffold-'));
  }, 600_000);
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  for (const kind of ['actor', 'exchange', 'llm'] as const) {
    it(`writes a working ${kind} package whose own tests and typecheck pass`, async () => {
      const dir = join(root, `kokex-plugin-acme-${kind}`);
      const made = await kokex('plugin', 'new', dir, '--kind', kind);
      expect(made, made.stderr).toMatchObject({ code: 0 });
      expect(made.stdout).toContain(`wrote kokex-plugin-acme-${kind} (${kind} acme-${kind})`);
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        kokex: { actors?: string[]; adapters?: Array<{ port: string; name: string }>; host: string };
        peerDependencies: Record<string, string>;
      };
      expect(pkg.kokex.host).toBe(`^${HOST_VERSION}`);
      expect(pkg.peerDependencies['@kokex/core']).toBe(`^${HOST_VERSION}`);
      if (kind === 'actor') expect(pkg.kokex.actors).toEqual([`acme-${kind}`]);
      else expect(pkg.kokex.adapters).toEqual([{ port: kind, name: `acme-${kind}` }]);
      for (const file of ['README.md', 'src/config.ts', 'src/index.ts', 'tsconfig.json', 'vitest.config.ts']) {
        expect((await readFile(join(dir, file), 'utf8')).length, file).toBeGreaterThan(0);
      }
      expect(await readFile(join(dir, 'src/index.ts'), 'utf8')).not.toMatch(/\{\{\w+\}\}/);

      const tests = await run('npx', ['vitest', 'run', '--reporter=verbose'], { cwd: dir, timeout: 240_000 }).catch((err) => err);
      expect(tests.code ?? 0, `${tests.stdout}\n${tests.stderr}`).toBe(0);
      expect(tests.stdout).toMatch(/Tests\s+.*1 passed/);
      const types = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', dir]).catch((err) => err);
      expect(types.code ?? 0, `${types.stdout}`).toBe(0);
    });
  }

  it('refuses a folder that is not empty and a kind it does not know, in one line', async () => {
    const full = join(root, 'taken');
    await mkdir(full);
    await writeFile(join(full, 'keep.txt'), 'mine');
    const taken = await kokex('plugin', 'new', full, '--kind', 'actor');
    expect(taken.code).toBe(2);
    expect(taken.stderr.trim().split('\n')).toHaveLength(1);
    expect(taken.stderr).toMatch(/exists and is not empty/);
    expect(await readFile(join(full, 'keep.txt'), 'utf8')).toBe('mine');
    const bogus = await kokex('plugin', 'new', join(root, 'other'), '--kind', 'robot');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toBe('kokex: plugin new needs --kind actor|exchange|llm, got "robot"\n');
  });
});

describe('docs/plugins.md', () => {
  it('names every port, every package the host lends and every lifecycle hook', async () => {
    const text = await readFile(join(ROOT, 'docs/plugins.md'), 'utf8');
    for (const port of Object.values(AdapterPort)) expect(text, port).toMatch(new RegExp(`^\\| \`${port}\` \\|`, 'm'));
    for (const pkg of HOST_PROVIDED) expect(text, pkg).toContain(`\`${pkg}\``);
    for (const hook of ['start()', 'pause()', 'resume()', 'reconfigure(config)', 'stop()', 'status()'])
      expect(text, hook).toContain(`\`${hook}\``);
    expect(text).toContain('kokex plugin new');
  });
});
