import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_VERSION } from '../src/index.js';
import { eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { ensureBuild, ROOT } from './build-support.js';

const run = promisify(execFile);

/**
 * A user's view of the published core: `npm pack` of core, installed into a folder outside the
 * repository, its compiled host running a plugin from yet another folder (plain JavaScript, with
 * a dependency of its own and no node_modules for @kokex/core: the host lends its copy).
 */
async function writePlugin(dir: string, version: string, word: string, hostRange = '^0.1.0'): Promise<void> {
  await mkdir(join(dir, 'lib'), { recursive: true });
  await mkdir(join(dir, 'node_modules/echo-words'), { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify(
      {
        name: 'outside-echo',
        version,
        type: 'module',
        exports: { '.': './lib/index.js' },
        kokex: { entry: './lib/index.js', actors: ['outside-echo'], host: hostRange },
        peerDependencies: { '@kokex/core': '^0.1.0', zod: '^3.25.0' },
        dependencies: { 'echo-words': '1.0.0' },
      },
      null,
      2,
    )}\n`,
  );
  // The plugin's own dependency, resolved from its own folder.
  await writeFile(
    join(dir, 'node_modules/echo-words/package.json'),
    '{"name":"echo-words","version":"1.0.0","type":"module","exports":"./index.js"}\n',
  );
  await writeFile(join(dir, 'node_modules/echo-words/index.js'), `export const shout = (s) => s.toUpperCase() + '!';\n`);
  await writeFile(join(dir, 'lib/word.js'), `export const WORD = ${JSON.stringify(word)};\n`);
  await writeFile(
    join(dir, 'lib/index.js'),
    `import { defineActorKind, definePlugin, KokexError } from '@kokex/core';
import { z } from 'zod';
import { shout } from 'echo-words';
import { WORD } from './word.js';

const configSchema = z.object({ greeting: z.string().default('hello') });

export const echoActor = defineActorKind({
  kind: 'outside-echo',
  description: 'a plugin written outside the repository against the packed core',
  configSchema,
  create: (ctx) => ({
    status: () => ({ greeting: shout(ctx.config.greeting), word: WORD, coreErrors: typeof KokexError }),
  }),
});

export default definePlugin({ name: 'outside-echo', version: '${version}', actors: [echoActor] });
`,
  );
}

interface Listed {
  kind: string;
  state: string;
  version: string;
  detail: Record<string, unknown>;
}

describe('a plugin against the packed @kokex/core, outside the repository', () => {
  let nats: TestNats;
  let root: string;
  let app: string;
  let host: ChildProcess | undefined;
  let hostLog = '';
  let skipped = '';
  const bin = () => join(app, 'node_modules/@kokex/core/bin/kokex.mjs');
  const kokex = async (...args: string[]): Promise<{ code: number; out: string }> => {
    try {
      const r = await run(process.execPath, [bin(), ...args], {
        cwd: app,
        env: { ...process.env, NATS_URL: nats.url, LOG_LEVEL: 'error' },
      });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };
  const listed = async (): Promise<Listed[]> => {
    const r = await kokex('actors', '--json');
    return r.code === 0 ? (JSON.parse(r.out) as Listed[]).filter((a) => a.kind === 'outside-echo') : [];
  };

  beforeAll(async () => {
    await ensureBuild();
    nats = await startTestNats();
    root = await mkdtemp(join(tmpdir(), 'kokex-packed-'));
    app = join(root, 'app');
    await mkdir(app);
    await run('npm', ['pack', '--pack-destination', root], { cwd: join(ROOT, 'core') });
    await writeFile(
      join(app, 'package.json'),
      `${JSON.stringify({ name: 'kokex-user-app', private: true, type: 'module', dependencies: { '@kokex/core': `file:../kokex-core-0.1.0.tgz` } })}\n`,
    );
    try {
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
        cwd: app,
        env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' },
        timeout: 300_000,
      });
    } catch (err) {
      const text = String((err as { stderr?: string }).stderr ?? err);
      // No registry and nothing cached: say so rather than fail for the network.
      if (/ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/.test(text)) skipped = text.split('\n')[0] ?? text;
      else throw err;
    }
  }, 600_000);
  afterAll(async () => {
    if (host && host.exitCode === null) {
      host.kill('SIGINT');
      await new Promise((r) => host?.once('exit', r));
    }
    await nats?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('packs compiled JavaScript and types, with exports pointing at them', async (ctx) => {
    if (skipped) ctx.skip();
    const pkgDir = join(app, 'node_modules/@kokex/core');
    const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as {
      version: string;
      exports: Record<string, Record<string, string> | string>;
    };
    // The version a manifest's `kokex.host` range is checked against is the published package's.
    expect(HOST_VERSION).toBe(pkg.version);
    const { stdout } = await run('tar', ['tzf', join(root, 'kokex-core-0.1.0.tgz')]);
    const files = stdout.split('\n').filter(Boolean);
    expect(files.some((f) => f.startsWith('package/src/'))).toBe(false);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    for (const sub of ['.', './testing']) {
      const target = pkg.exports[sub] as Record<string, string>;
      expect(files).toContain(`package/${target.default?.slice(2)}`);
      expect(files).toContain(`package/${target.types?.slice(2)}`);
    }
    // Types: a TypeScript user's file type-checks against the installed package alone.
    await writeFile(
      join(app, 'check.ts'),
      `import { defineActorKind, definePlugin } from '@kokex/core';
import { startTestNats } from '@kokex/core/testing';
import { z } from 'zod';
const configSchema = z.object({ n: z.number().default(1) });
const kind = defineActorKind<z.output<typeof configSchema>>({
  kind: 'k',
  description: 'typed against the packed core',
  configSchema,
  create: (ctx) => ({ status: () => ({ n: ctx.config.n }) }),
});
export default definePlugin({ name: 'p', version: '1.0.0', actors: [kind] });
export const start: typeof startTestNats = startTestNats;
`,
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2023',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app]);
  });

  it('loads, reloads (from another folder, then in place) and unloads it in a running compiled host', async (ctx) => {
    if (skipped) ctx.skip();
    const v1 = join(root, 'echo-v1');
    const v2 = join(root, 'echo-v2');
    await writePlugin(v1, '1.0.0', 'one');
    await writePlugin(v2, '2.0.0', 'two');
    const empty = join(root, 'no-plugins');
    await mkdir(empty);
    // `up` against NATS_URL: a host serving every kind, here none until one is loaded.
    host = spawn(process.execPath, [bin(), 'up'], {
      cwd: app,
      env: { ...process.env, NATS_URL: nats.url, LOG_LEVEL: 'error', KOKEX_PLUGIN_PATH: empty },
    });
    host.stdout?.on('data', (d) => (hostLog += d));
    host.stderr?.on('data', (d) => (hostLog += d));
    await eventually(() => /host \S+ running/.test(hostLog), 60_000);

    const load = await kokex('plugin', 'load', v1);
    expect(load, load.out).toMatchObject({ code: 0 });
    expect(load.out).toMatch(/loaded outside-echo@1\.0\.0/);
    await eventually(async () => (await listed()).some((a) => a.version === '1.0.0' && a.state === 'running'), 30_000, 300);
    // Its status went through the host's own core and zod, and its own dependency.
    expect((await listed())[0]?.detail).toEqual({ greeting: 'HELLO!', word: 'one', coreErrors: 'function' });

    const reload = await kokex('plugin', 'reload', 'outside-echo', '--path', v2);
    expect(reload, reload.out).toMatchObject({ code: 0 });
    expect(reload.out).toMatch(/reloaded outside-echo 1\.0\.0 → 2\.0\.0/);
    await eventually(
      async () => {
        const now = await listed();
        return now.length === 1 && now[0]?.version === '2.0.0' && now[0]?.state === 'running' && now[0]?.detail.word === 'two';
      },
      30_000,
      300,
    );

    // In place: the same folder, edited. Every file is evaluated again, not only the entry.
    await writePlugin(v2, '3.0.0', 'three');
    const again = await kokex('plugin', 'reload', 'outside-echo');
    expect(again, again.out).toMatchObject({ code: 0 });
    await eventually(
      async () => {
        const now = await listed();
        return now.length === 1 && now[0]?.version === '3.0.0' && now[0]?.detail.word === 'three';
      },
      30_000,
      300,
    );

    const unload = await kokex('plugin', 'unload', 'outside-echo');
    expect(unload, unload.out).toMatchObject({ code: 0 });
    await eventually(async () => (await listed()).length === 0, 30_000, 300);
    expect(hostLog).not.toMatch(/Error|Cannot find/);
  });

  it('refuses a plugin that asks for another host version in one line naming both', async (ctx) => {
    if (skipped || !host) ctx.skip();
    const future = join(root, 'echo-future');
    await writePlugin(future, '1.0.0', 'later', '^9.0.0');
    const r = await kokex('plugin', 'load', future);
    expect(r.code).not.toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/plugin outside-echo: needs host \^9\.0\.0, this host is 0\.1\.0/);
  });
});
