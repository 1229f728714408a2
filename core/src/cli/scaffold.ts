import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_VERSION } from '../plugin/manifest.js';
import { UsageError } from './errors.js';

/**
 * `kokex plugin new <dir> --kind actor|exchange|llm`: writes a working plugin package from
 * core/templates (manifest, config schema, the actor or adapter skeleton, a test on a real
 * nats-server through `@kokex/core/testing`, a README). The package's name is the folder's name;
 * the actor kind or adapter name is that name without a scope or a `kokex-plugin-` prefix.
 */
export const PLUGIN_KINDS = ['actor', 'exchange', 'llm'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** core/templates: beside src/ in a checkout, beside dist/ in the published package (same depth). */
const TEMPLATES = fileURLToPath(new URL('../../templates', import.meta.url));

export interface ScaffoldResult {
  dir: string;
  name: string;
  id: string;
  files: string[];
}

export async function newPlugin(dir: string | undefined, kind: string | undefined): Promise<ScaffoldResult> {
  if (!dir) throw new UsageError('usage: kokex plugin new <dir> --kind actor|exchange|llm');
  if (!kind || !(PLUGIN_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`plugin new needs --kind ${PLUGIN_KINDS.join('|')}${kind ? `, got "${kind}"` : ''}`);
  }
  const abs = resolve(dir);
  if (existsSync(abs) && (await readdir(abs)).length > 0)
    throw new UsageError(`${dir} exists and is not empty; plugin new writes a new folder`);
  const name = basename(abs).toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new UsageError(`"${basename(abs)}" is not a package name (letters, digits, . _ -)`);
  const id = name.replace(/^kokex-plugin-/, '').replace(/[^a-z0-9-]/g, '-');
  const words = id.split('-').filter(Boolean);
  const pascal = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('') || 'Plugin';
  const values: Record<string, string> = {
    name,
    id,
    Id: /^[0-9]/.test(pascal) ? `P${pascal}` : pascal,
    camel: /^[0-9]/.test(pascal) ? `p${pascal}` : pascal[0]?.toLowerCase() + pascal.slice(1),
    ENV: id.toUpperCase().replace(/-/g, '_'),
    kind,
    hostRange: `^${HOST_VERSION}`,
  };
  const files: string[] = [];
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(abs, path)), { recursive: true });
    await writeFile(join(abs, path), text);
    files.push(path);
  };
  for (const source of [join(TEMPLATES, 'common'), join(TEMPLATES, kind)]) {
    for (const file of await listFiles(source)) {
      const target = relative(source, file)
        .replace(/\.tmpl$/, '')
        .replace(/^gitignore$/, '.gitignore');
      await write(target, fill(await readFile(file, 'utf8'), values));
    }
  }
  await write('package.json', `${JSON.stringify(manifestOf(kind as PluginKind, values), null, 2)}\n`);
  await write('README.md', readmeOf(kind as PluginKind, values, dir));
  return { dir: abs, name, id, files: files.sort() };
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

function manifestOf(kind: PluginKind, v: Record<string, string>): Record<string, unknown> {
  const port = kind === 'actor' ? undefined : kind;
  return {
    name: v.name,
    version: '0.1.0',
    description: kind === 'actor' ? `KOKEX actor kind ${v.id}` : `KOKEX ${kind} adapter ${v.id}`,
    type: 'module',
    exports: { '.': './src/index.ts' },
    kokex: {
      entry: './src/index.ts',
      ...(port ? { adapters: [{ port, name: v.id }] } : { actors: [v.id] }),
      host: v.hostRange,
    },
    scripts: { test: 'vitest run', typecheck: 'tsc --noEmit' },
    // The host lends its own copies of these: declare them, never bundle them.
    peerDependencies: { '@kokex/core': v.hostRange, zod: '^3.25.0' },
    ...(kind === 'llm' ? { dependencies: { '@langchain/core': '^1.4.0' } } : {}),
    devDependencies: { '@kokex/core': v.hostRange, '@types/node': '^20.19.0', typescript: '~5.9.3', vitest: '^4.1.0', zod: '^3.25.0' },
  };
}

function readmeOf(kind: PluginKind, v: Record<string, string>, dir: string): string {
  const what =
    kind === 'actor'
      ? `the actor kind \`${v.id}\` (src/actor.ts): it counts clock ticks from a durable consumer and reports the count in \`status()\`, which \`kokex actors\` shows.`
      : kind === 'exchange'
        ? `the \`exchange\` adapter \`${v.id}\` (src/adapter.ts, the \`MarketDataAdapter\` port): instrument rules, paged candle history, live candles. It generates bars; replace each method with calls to your venue.`
        : `the \`llm\` adapter \`${v.id}\` (src/model.ts, a LangChain chat model): it echoes the last message and streams it word by word; replace it with your provider's HTTP call. Keys come from the environment (\`${v.ENV}_API_KEY\`), never from config or logs.`;
  return `# ${v.name}

A KOKEX plugin: ${what}

- \`package.json\` \`kokex\`: the manifest the host checks before running any code (entry, ${kind === 'actor' ? 'actors' : 'adapters'}, host range \`${v.hostRange}\`).
- \`src/config.ts\`: the config schema (zod); every field has a default.
- \`test/\`: runs the plugin in a real host on a real nats-server (\`@kokex/core/testing\` starts one per file).

\`\`\`sh
npm install          # @kokex/core, zod, vitest for the tests
npm test
npx kokex plugin load ${dir}   # into a running host (kokex up / kokex host)
\`\`\`

The host lends \`@kokex/core\`, \`zod\` and \`xstate\` to the plugin (peer dependencies); anything else
resolves from this folder. Reloading (\`kokex plugin reload ${v.name}\`) evaluates every file again and
starts the new version beside the old one on the same durable consumer: handlers must be idempotent.
See docs/plugins.md in the KOKEX repository.
`;
}
