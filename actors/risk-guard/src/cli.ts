import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  type Bus,
  type CommandIo,
  connectBus,
  ErrorCode,
  getStoredPlan,
  KokexError,
  listPlans,
  type Plan,
  resolveNatsUrl,
} from '@kokex/core';
import { RiskPlanUnknownError } from './errors.js';

/** What the guard's commands share: argument errors with the usage, a bus, the applied plan. */
export class CommandUsageError extends KokexError {
  constructor(message: string, usage: string) {
    super(ErrorCode.CliUsage, `${message}\n${usage}`);
  }
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;
type WithHelp<O> = O & typeof HELP;

type CommandArgs<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: WithHelp<O> }>
>;

/**
 * Parses a command's arguments, `-h`/`--help` included. Undefined when help was asked for: the
 * usage is printed and the command returns 0.
 */
export function commandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  usage: string,
  io: CommandIo,
): CommandArgs<O> | undefined {
  let parsed: CommandArgs<O>;
  try {
    parsed = parseArgs({ args, allowPositionals: true as const, strict: true as const, options: { ...options, ...HELP } });
  } catch (err) {
    throw new CommandUsageError((err as Error).message, usage);
  }
  if (!(parsed.values as { help?: boolean }).help) return parsed;
  io.print(usage);
  return undefined;
}

export async function withCommandBus<T>(io: CommandIo, name: string, run: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await connectBus({ url: resolveNatsUrl(io.env).url, name, reconnect: false });
  return run(bus).finally(() => bus.close());
}

export async function appliedPlan(bus: Bus, name: string): Promise<Plan> {
  const found = await getStoredPlan(bus, name);
  if (found) return found.stored.plan;
  throw new RiskPlanUnknownError(
    name,
    (await listPlans(bus)).map((p) => p.plan.metadata.name),
  );
}

/** Plain-text columns, as the rest of the CLI prints them (core keeps its table helper to itself). */
export function columns(headers: string[], rows: Array<Array<string | number | undefined>>): string[] {
  const all = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const width = (i: number) => Math.max(...all.map((r) => (r[i] ?? '').length));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width(i)))).join('  '));
}

export const num = (n: number | undefined) => (n === undefined ? '-' : Number(n.toPrecision(10)).toString());
