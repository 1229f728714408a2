import {
  applyTradingCommand,
  type CommandDefinition,
  initialControl,
  readControl,
  TRADING_COMMANDS,
  type TradingCommand,
  writeControl,
} from '@kokex/core';
import { appliedPlan, CommandUsageError, commandArgs, withCommandBus } from './cli.js';

const USAGE = `usage: kokex risk halt|reduce|resume <plan> [--reason text]
       kokex risk status <plan>

  halt     trading state HALTED and the kill switch thrown: every intent is denied (KILL_SWITCH) and
           the executor cancels the plan's open orders
  reduce   trading state REDUCING: only orders that shrink the position are approved (reduce-only)
  resume   trading state ACTIVE: the plan's limits apply as written
  status   the plan's trading state and who set it
The state lives in the kokex-risk bucket (control.<plan>); the risk guard and the executor act on a
change within a moment.`;

export const riskCommand: CommandDefinition = {
  name: 'risk',
  summary: 'halt, reduce or resume a plan (trading state and kill switch)',
  usage: USAGE,
  async run(args, io) {
    const parsed = commandArgs(args, { reason: { type: 'string' } }, USAGE, io);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [verb, name] = positionals;
    if (!verb || !name || positionals.length !== 2) throw new CommandUsageError('name a verb and one plan', USAGE);
    if (verb !== 'status' && !TRADING_COMMANDS.includes(verb as TradingCommand)) throw new CommandUsageError(`unknown verb ${verb}`, USAGE);
    return withCommandBus(io, 'kokex-risk', async (bus) => {
      const plan = await appliedPlan(bus, name);
      const now = Date.now();
      const current = (await readControl(bus, name)) ?? initialControl(plan.spec.risk.initialState, now);
      const describe = (c: typeof current) =>
        `plan ${name}: ${c.state}, kill switch ${c.killSwitch ? 'thrown' : 'down'} (by ${c.by}${c.reason ? `: ${c.reason}` : ''}, ${new Date(c.at).toISOString()})`;
      if (verb === 'status') {
        io.print(describe(current));
        return 0;
      }
      const who = `cli:${io.env.USER ?? io.env.LOGNAME ?? 'unknown'}`;
      const next = applyTradingCommand(current, verb as TradingCommand, who, String(values.reason ?? `kokex risk ${verb}`), now);
      if (!next) {
        io.print(`${describe(current)}; nothing to ${verb}`);
        return 0;
      }
      await writeControl(bus, name, next);
      io.print(describe(next));
      if (next.killSwitch) io.print('new intents are denied (KILL_SWITCH); the executor cancels the open orders of this plan');
      return 0;
    });
  },
};
