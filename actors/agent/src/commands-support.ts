import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type Bus, type CommandIo, connectBus, ErrorCode, KokexError, planToken, resolveNatsUrl } from '@kokex/core';

/** What the agent's commands share: argument errors that show the usage, and a bus for the command's lifetime. */
export class AgentCommandUsageError extends KokexError {
  constructor(message: string, usage: string) {
    super(ErrorCode.CliUsage, `${message}\n${usage}`);
  }
}

type CommandArgs<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>
>;

export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  usage: string,
): CommandArgs<O> {
  try {
    return parseArgs({ args, allowPositionals: true as const, strict: true as const, options });
  } catch (err) {
    throw new AgentCommandUsageError((err as Error).message, usage);
  }
}

export async function withCommandBus<T>(io: CommandIo, name: string, run: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await connectBus({ url: resolveNatsUrl(io.env).url, name, reconnect: false });
  try {
    return await run(bus);
  } finally {
    await bus.close();
  }
}

/**
 * The plan a command names as its first argument, or the exit code to return: 0 after `--help`,
 * 2 (with the usage) when the plan is missing or not a valid name.
 */
export function commandPlan(values: { help?: boolean | undefined }, positionals: string[], io: CommandIo, usage: string): string | number {
  if (values.help) {
    io.print(usage);
    return 0;
  }
  const plan = positionals[0];
  if (plan && planToken.safeParse(plan).success) return plan;
  io.print(usage);
  return 2;
}
