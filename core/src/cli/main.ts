import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { completionScript, describeFailure, exitCodeOf } from './exit.js';
import { connectBus } from '../bus/bus.js';
import { createLogger, humanLogDestination, LOG_FORMATS } from '../log/logger.js';
import { actorsTable, applyPlans, microList, planList, planRemove, pluginCommand, streamsTable, tail, validatePlans } from './commands.js';
import { UsageError } from './errors.js';
import { runHost } from './up.js';
import { newPlugin } from './scaffold.js';
import { BACKTEST_USAGE, backtestCommand } from './backtest.js';
import { deployNats } from './deploy.js';
import { findPlugins } from './runtime.js';
import { loadPlugin } from '../plugin/loader.js';
import { type CommandDefinition, readPluginPackage } from '../plugin/manifest.js';

const METRICS_USAGE =
  '\n\n  --metrics-port N (KOKEX_METRICS_PORT) serves /metrics, /healthz and /readyz on port N (0: a free\n  port; default: no server); --metrics-bind ADDR (KOKEX_METRICS_BIND, default 127.0.0.1; 0.0.0.0 in pods).';

const SIM_PORT_USAGE =
  "\n\n  --sim-port N (KOKEX_SIM_PORT) is where the OKX simulator listens and the okx adapter connects (0: a\n  free port; default: the plans' venue.sim.port, else 18080). A port in use is refused, never shared.";

/** Each built-in command: its one-line summary, its own usage (`kokex <command> --help`), and whether it lists (`--json`). */
const COMMANDS: Record<string, { summary: string; usage: string; json?: boolean }> = {
  up: {
    summary: 'run every actor in one process (embedded nats-server when NATS_URL is unset)',
    usage:
      'usage: kokex up [plan.yaml…] [--quiet] [--sim-port N] [--metrics-port N] [--metrics-bind ADDR]\n\n  Validates the plan files, starts an embedded nats-server when NATS_URL is unset, applies the\n  plans and runs every actor kind found under actors/ and plugins/. Ctrl-C drains and stops.' +
      SIM_PORT_USAGE +
      METRICS_USAGE,
  },
  host: {
    summary: 'run some actor kinds against NATS_URL (scale out by starting more)',
    usage:
      'usage: kokex host --actors kind,… [plan.yaml…] [--quiet] [--metrics-port N] [--metrics-bind ADDR]\n\n  Runs the named actor kinds against NATS_URL; more hosts with the same kinds share the work.' +
      METRICS_USAGE,
  },
  plan: {
    summary: 'plan validate|apply <file…> | ls | rm <name>',
    usage:
      'usage: kokex plan validate <file…>   check plan files (file:line:column on errors)\n       kokex plan apply <file…>      validate and store plans; running actors pick up the change\n       kokex plan ls [--json]        stored plans\n       kokex plan rm <name>          delete a stored plan (exit 1 when there is none)',
    json: true,
  },
  actors: {
    summary: 'live actors: state, version, host, lag, their own status fields',
    usage:
      "usage: kokex actors [--json]\n\n  DETAIL shows each actor's own status() fields (key=value, cut to 60 characters); --json has them whole.",
    json: true,
  },
  plugin: {
    summary: 'plugin load <dir> | unload <name> | reload <name> [--path dir] | ls   [--host id] | new <dir> --kind …',
    usage:
      'usage: kokex plugin load <dir> | unload <name> | reload <name> [--path dir] | ls [--json]   [--host id]\n       kokex plugin new <dir> --kind actor|exchange|llm   write a working plugin package (see docs/plugins.md)',
    json: true,
  },
  tail: {
    summary: 'print messages on a subject filter as they pass',
    usage: 'usage: kokex tail <subject filter> [--json] [--count N]\n\n  example: kokex tail "kokex.md.candle.>" --count 5',
    json: true,
  },
  streams: { summary: 'streams and consumers with lag', usage: 'usage: kokex streams [--json]', json: true },
  services: { summary: "NATS micro services (what 'nats micro ls' shows)", usage: 'usage: kokex services [--json]', json: true },
  deploy: {
    summary: 'per-actor NATS users and permissions (nats.conf, users.env)',
    usage:
      'usage: kokex deploy nats [plan.yaml…] [--out dir] [--host addr] [--auth nkey|password]   (defaults: deploy/nats, 127.0.0.1, password)',
  },
  backtest: {
    summary: "replay history through the plan's own actors in lockstep; report.json, report.html; compare runs",
    usage: BACKTEST_USAGE,
  },
  completion: {
    summary: 'shell completion script: eval "$(kokex completion bash)"',
    usage: 'usage: kokex completion bash|zsh\n\n  bash: eval "$(npx kokex completion bash)"   zsh: source <(npx kokex completion zsh)',
  },
};

const USAGE = `usage: kokex <command> [options]   (kokex <command> --help for one command)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}
  --version    print the version
  --log-format text|json   logs as one readable line each on stderr (default), or JSON lines (KOKEX_LOG_FORMAT)

NATS: NATS_URL, else the embedded server started by 'kokex up' (KOKEX_HOME, default ./.kokex).`;

const BUILTIN = new Set(Object.keys(COMMANDS));

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

/** A port option (`--sim-port`, or its environment variable): unset or empty is undefined, 0 a free one. */
function portOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port number 0-65535, got "${value}"`);
  return n;
}

/** `--metrics-port`/`KOKEX_METRICS_PORT` (unset or empty: no server) and the address to bind. */
function healthOptions(port: string | undefined, bind: string | undefined): { port: number; bind?: string } | undefined {
  if (port === undefined || port === '') {
    if (bind) throw new UsageError('--metrics-bind needs --metrics-port (or KOKEX_METRICS_PORT)');
    return undefined;
  }
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--metrics-port must be a port number 0-65535, got "${port}"`);
  return { port: n, ...(bind ? { bind } : {}) };
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

/** Asked for help anywhere before a `--` (`kokex data pull -h`, `kokex sim okx --help`). */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function version(): Promise<string> {
  const pkg = JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

async function pluginCommandNames(): Promise<string[]> {
  const names: string[] = [];
  for (const dir of await findPlugins().catch(() => [])) {
    const pkg = await readPluginPackage(dir).catch(() => undefined);
    names.push(...(pkg?.manifest.commands ?? []));
  }
  return names;
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-v') {
    out(await version());
    return 0;
  }
  // Plugin commands parse their own options; help is answered here, the same way for all of them.
  if (first && !first.startsWith('-') && !BUILTIN.has(first)) {
    const found = await findCommand(first);
    if (found && wantsHelp(argv.slice(1))) {
      out(found.usage);
      return 0;
    }
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
  // `kokex backtest` parses its own options (--from, --to, --data …).
  if (first === 'backtest') {
    if (wantsHelp(argv.slice(1))) return show(BACKTEST_USAGE);
    const abort = new AbortController();
    void stopSignal().then(() => abort.abort());
    const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'kokex', destination: humanLogDestination() });
    // A terminal gets one line redrawn; a pipe or a file one line every 5 s.
    let lastLine = 0;
    return backtestCommand(argv.slice(1), {
      print: out,
      status: (text, final) => {
        if (process.stderr.isTTY) process.stderr.write(final ? '\n' : `\r${text}\x1b[K`);
        else if (!final && text && performance.now() - lastLine > 5000) {
          lastLine = performance.now();
          process.stderr.write(`${text}\n`);
        }
      },
      log,
      signal: abort.signal,
    });
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      actors: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      kind: { type: 'string' },
      out: { type: 'string' },
      auth: { type: 'string' },
      json: { type: 'boolean' },
      count: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      'log-format': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-bind': { type: 'string' },
      'sim-port': { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (!command) {
    out(USAGE + (await pluginCommandsHelp()));
    return values.help ? 0 : 2;
  }
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}"; run kokex --help`);
  if (values.help) return show(spec.usage);
  // A flag a command does not honour is refused, never silently ignored.
  if (values.json && !spec.json) throw new UsageError(`kokex ${command} has no --json output`);
  const json = values.json === true;
  const format = values['log-format'] ?? process.env.KOKEX_LOG_FORMAT ?? 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--log-format must be text or json, got "${format}"`);
  // Humans get one readable line per record on stderr; machines ask for pino's JSON lines.
  const log = createLogger({
    level: process.env.LOG_LEVEL ?? 'warn',
    name: 'kokex',
    ...(format === 'json' ? {} : { destination: humanLogDestination() }),
  });
  switch (command) {
    case 'up':
    case 'host': {
      const kinds = values.actors
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (command === 'host' && !kinds?.length) throw new UsageError('host needs --actors kind,… (use `up` to run every kind)');
      // A missing or broken plan file stops here, before a server or an actor starts.
      if (rest.length > 0) await validatePlans(rest);
      const health = healthOptions(
        values['metrics-port'] ?? process.env.KOKEX_METRICS_PORT,
        values['metrics-bind'] ?? process.env.KOKEX_METRICS_BIND,
      );
      const simPort = portOption('--sim-port', values['sim-port'] ?? process.env.KOKEX_SIM_PORT);
      await runHost({
        ...(health ? { health } : {}),
        ...(simPort !== undefined ? { simPort } : {}),
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
      if (verb === 'ls') return withBus(async (bus) => show(await planList(bus, { json })));
      if (verb === 'rm') return withBus(async (bus) => show(await planRemove(bus, args[0])));
      throw new UsageError('usage: kokex plan validate|apply <file…> | ls | rm <name>');
    }
    case 'actors':
      return withBus(async (bus) => show(await actorsTable(bus, { json })));
    case 'streams':
      return withBus(async (bus) => show(await streamsTable(bus, { json })));
    case 'services':
      return withBus(async (bus) => show(await microList(bus, { json })));
    case 'plugin':
      if (rest[0] === 'new') {
        const made = await newPlugin(rest[1], values.kind);
        return show(
          `wrote ${made.name} (${values.kind} ${made.id}) in ${made.dir}:\n  ${made.files.join('\n  ')}\nnext: cd ${rest[1]} && npm install && npm test`,
        );
      }
      if (json && rest[0] !== 'ls') throw new UsageError('only `kokex plugin ls` has --json output');
      return withBus(async (bus) => show(await pluginCommand(bus, rest[0], rest[1], { host: values.host, path: values.path, json })));
    case 'completion':
      return show(completionScript(rest[0], [...BUILTIN, ...(await pluginCommandNames())]));
    case 'tail': {
      const count = values.count ? Number(values.count) : undefined;
      if (count !== undefined && !(count > 0)) throw new UsageError(`--count must be a positive number, got "${values.count}"`);
      const abort = new AbortController();
      void stopSignal().then(() => abort.abort());
      return withBus(async (bus) => {
        await tail(bus, rest[0], { json, count, print: out, signal: abort.signal });
        return 0;
      });
    }
    case 'deploy': {
      const [target, ...plans] = rest;
      if (target !== 'nats')
        throw new UsageError('usage: kokex deploy nats [plan.yaml…] [--out deploy/nats] [--host 127.0.0.1] [--auth nkey|password]');
      const auth = values.auth ?? 'password';
      if (auth !== 'nkey' && auth !== 'password') throw new UsageError(`--auth must be nkey or password, not "${auth}"`);
      return show(await deployNats(plans, { outDir: values.out, host: values.host ?? '127.0.0.1', auth }));
    }
    default:
      throw new UsageError(`unknown command "${command}"; run kokex --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // One clear line, never a stack trace (KOKEX_DEBUG=1 shows it).
    const message = describeFailure(err);
    process.stderr.write(`kokex: ${message}\n`);
    if (process.env.KOKEX_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exit(exitCodeOf(err));
  },
);
