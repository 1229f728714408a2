import { parseArgs } from 'node:util';
import { connectBus } from '../bus/bus.js';
import { createLogger } from '../log/logger.js';
import { actorsTable, applyPlans, microList, planList, planRemove, pluginCommand, streamsTable, tail, validatePlans } from './commands.js';
import { UsageError } from './errors.js';
import { runHost } from './up.js';
import { deployNats } from './deploy.js';
import { findPlugins } from './runtime.js';
import { loadPlugin } from '../plugin/loader.js';
import { type CommandDefinition, readPluginPackage } from '../plugin/manifest.js';

const USAGE = `usage: kokex <command> [options]

  up [plan.yaml…]              run every actor in one process (embedded nats-server when NATS_URL is unset)
  host --actors kind,…         run some actor kinds against NATS_URL (scale out by starting more)
  plan validate <file…>        check plan files
  plan apply <file…>           validate and store plans; running actors pick up the change
  plan ls | plan rm <name>     list or delete stored plans
  actors                       live actors: state, version, host, lag
  plugin load <dir> | unload <name> | reload <name> [--path dir] | ls   [--host id]
  tail <subject filter> [--json] [--count N]   print messages as they pass
  streams                      streams and consumers with lag
  services                     NATS micro services (what 'nats micro ls' shows)
  deploy nats [plan…] [--out dir]   per-actor NATS users and permissions (nats.conf, users.env)

NATS: NATS_URL, else the embedded server started by 'kokex up' (KOKEX_HOME, default ./.kokex).`;

const BUILTIN = new Set(['up', 'host', 'plan', 'actors', 'streams', 'services', 'plugin', 'tail', 'deploy']);

const out = (line: string) => process.stdout.write(`${line}\n`);

function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let signalled = false;
    const on = (sig: string) => {
      if (signalled) {
        process.stderr.write('second signal: exiting without draining\n');
        process.exit(130);
      }
      signalled = true;
      resolve(sig);
    };
    process.on('SIGINT', () => on('SIGINT'));
    process.on('SIGTERM', () => on('SIGTERM'));
  });
}

function show(text: string): number {
  out(text);
  return 0;
}

async function withBus<T>(fn: (bus: Awaited<ReturnType<typeof connectBus>>) => Promise<T>): Promise<T> {
  const bus = await connectBus({ name: 'kokex-cli', reconnect: false });
  try {
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

/** Commands contributed by plugins (`kokex sim`, `kokex data`), found through their manifests. */
async function findCommand(name: string): Promise<CommandDefinition | undefined> {
  for (const dir of await findPlugins()) {
    const pkg = await readPluginPackage(dir);
    if (!pkg.manifest.commands.includes(name)) continue;
    const plugin = await loadPlugin(dir);
    return plugin.definition.commands?.find((c) => c.name === name);
  }
  return undefined;
}

async function pluginCommandsHelp(): Promise<string> {
  const lines: string[] = [];
  for (const dir of await findPlugins().catch(() => [])) {
    const pkg = await readPluginPackage(dir).catch(() => undefined);
    for (const c of pkg?.manifest.commands ?? []) lines.push(`  ${c.padEnd(29)}(from ${pkg?.name}; kokex ${c} --help)`);
  }
  return lines.length ? `\n\nplugin commands:\n${lines.join('\n')}` : '';
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  // Plugin commands parse their own options.
  if (first && !first.startsWith('-') && !BUILTIN.has(first)) {
    const found = await findCommand(first);
    if (found) {
      const abort = new AbortController();
      void stopSignal().then(() => abort.abort());
      return found.run(argv.slice(1), {
        print: out,
        progress: (line) => (process.stdout.isTTY ? process.stdout.write(`\r${line}\x1b[K`) : out(line)),
        signal: abort.signal,
        env: process.env,
      });
    }
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      actors: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      count: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    out(USAGE + (await pluginCommandsHelp()));
    return command || values.help ? 0 : 2;
  }
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'kokex' });
  switch (command) {
    case 'up':
    case 'host': {
      const kinds = values.actors
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (command === 'host' && !kinds?.length) throw new UsageError('host needs --actors kind,… (use `up` to run every kind)');
      await runHost({
        plans: rest,
        ...(kinds ? { kinds } : {}),
        embedded: command === 'up',
        watch: !values.quiet,
        log,
        print: out,
        until: stopSignal(),
      });
      return 0;
    }
    case 'plan': {
      const [verb, ...args] = rest;
      if (verb === 'validate') {
        out(await validatePlans(args));
        return 0;
      }
      if (verb === 'apply') return withBus(async (bus) => show(await applyPlans(bus, args)));
      if (verb === 'ls') return withBus(async (bus) => show(await planList(bus)));
      if (verb === 'rm') return withBus(async (bus) => show(await planRemove(bus, args[0])));
      throw new UsageError('usage: kokex plan validate|apply <file…> | ls | rm <name>');
    }
    case 'actors':
      return withBus(async (bus) => show(await actorsTable(bus)));
    case 'streams':
      return withBus(async (bus) => show(await streamsTable(bus)));
    case 'services':
      return withBus(async (bus) => show(await microList(bus)));
    case 'plugin':
      return withBus(async (bus) => show(await pluginCommand(bus, rest[0], rest[1], { host: values.host, path: values.path })));
    case 'tail': {
      const count = values.count ? Number(values.count) : undefined;
      if (count !== undefined && !(count > 0)) throw new UsageError(`--count must be a positive number, got "${values.count}"`);
      const abort = new AbortController();
      void stopSignal().then(() => abort.abort());
      return withBus(async (bus) => {
        await tail(bus, rest[0], { json: values.json, count, print: out, signal: abort.signal });
        return 0;
      });
    }
    case 'deploy': {
      const [target, ...plans] = rest;
      if (target !== 'nats') throw new UsageError('usage: kokex deploy nats [plan.yaml…] [--out deploy/nats]');
      return show(await deployNats(plans, values.out));
    }
    default:
      throw new UsageError(`unknown command "${command}"; run kokex --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One clear line, never a stack trace (KOKEX_DEBUG=1 shows it).
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`kokex: ${message}\n`);
    if (process.env.KOKEX_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    const usage =
      err instanceof UsageError ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      (err as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS');
    process.exit(usage ? 2 : 1);
  },
);
