import type { CommandDefinition, CommandIo } from '@kokex/core';
import { commandPlan, parseCommandArgs, withCommandBus } from './commands-support.js';
import { AgentConversationNotFoundError } from './errors.js';
import { readTurns, replayLines, summarize } from './replay.js';

const USAGE = `usage: kokex conversations <plan> [--id ID] [--limit N] [--full] [--json]
  Lists the plan's past agent conversations from the AGENT stream (newest last), or with --id
  replays one: the system prompt, every message, tool call and result, the intents, the end.`;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export const conversationsCommand: CommandDefinition = {
  name: 'conversations',
  summary: "list a plan's agent conversations, or replay one with --id",
  usage: USAGE,
  async run(args: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        id: { type: 'string' },
        limit: { type: 'string' },
        full: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      USAGE,
    );
    const plan = commandPlan(values, positionals, io, USAGE);
    if (typeof plan === 'number') return plan;
    const limit = Math.max(1, Number(values.limit ?? 20) || 20);
    return withCommandBus(io, `kokex-conversations-${plan}`, async (bus) => {
      if (values.id) {
        const id = values.id;
        const turns = await readTurns(bus, plan, (t) => t.conversation === id);
        if (!turns.length)
          throw new AgentConversationNotFoundError(
            plan,
            id,
            summarize(await readTurns(bus, plan)).map((s) => s.conversation),
          );
        if (values.json)
          io.print(JSON.stringify(turns.map((t) => ({ streamSeq: t.seq, time: t.time, correlationId: t.correlationId, ...t.turn }))));
        else for (const line of replayLines(turns, { full: values.full === true })) io.print(line);
        return 0;
      }
      const all = summarize(await readTurns(bus, plan)).slice(-limit);
      if (values.json) {
        io.print(JSON.stringify(all));
        return 0;
      }
      if (!all.length) {
        io.print(`no conversations recorded for plan ${plan}`);
        return 0;
      }
      for (const s of all) {
        io.print(
          `${s.conversation}  ${new Date(s.startedAt).toISOString()}  ${s.trigger.padEnd(18)} ${(s.reason ?? 'running').padEnd(14)} ` +
            `turns ${s.turns}  tools ${s.toolCalls}  intents ${s.intents.length}  ${clip((s.answer ?? '').replace(/\s+/g, ' '), 80)}`,
        );
      }
      return 0;
    });
  },
};
