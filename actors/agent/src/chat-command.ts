import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type Bus, type CommandDefinition, type CommandIo, errorFromWire, parseDuration, subject } from '@kokex/core';
import { AgentTokenContract, type ChatReply, type ChatRequestInput } from '@kokex/core';
import { chatSubject } from './subjects.js';
import { AgentChatUnavailableError } from './errors.js';
import { commandPlan, parseCommandArgs, withCommandBus } from './commands-support.js';

const USAGE = `usage: kokex chat <plan> [--timeout 5m] [--conversation ID]
  A conversation with the plan's agent: each line read from stdin is one message, the answer
  streams back token by token, tool calls show as they happen. Works with piped input
  (echo "what now?" | kokex chat demo). Orders the agent places are intents the risk guard checks.`;

export interface ChatStreams {
  stdin?: Readable;
  stdout?: Writable;
}

/** A conversation id for the terminal session: a subject token. */
export function newChatConversationId(): string {
  return `chat-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Sends one chat line and streams the answer; resolves with the agent's reply. */
export async function chatOnce(
  bus: Bus,
  plan: string,
  request: ChatRequestInput & { conversation: string },
  onToken: (kind: 'text' | 'tool' | 'end', text: string) => void,
  timeoutMs: number,
): Promise<ChatReply> {
  const tokens = bus.nc.subscribe(subject('agentToken', { plan, conversation: request.conversation }), {
    callback: (err, msg) => {
      if (err) return;
      try {
        const t = AgentTokenContract.decode(msg.data).data;
        onToken(t.kind, t.text);
      } catch {
        // A token that does not decode is display only: skipped.
      }
    },
  });
  try {
    // The subscription must reach the server before the agent starts streaming.
    await bus.nc.flush();
    const reply = await bus.nc.request(chatSubject(plan), JSON.stringify(request), { timeout: timeoutMs }).catch((err: unknown) => {
      throw new AgentChatUnavailableError(plan, err);
    });
    // Tokens published before the reply may still be in flight on this connection.
    await bus.nc.flush();
    return JSON.parse(new TextDecoder().decode(reply.data)) as ChatReply;
  } finally {
    tokens.unsubscribe();
  }
}

export function createChatCommand(streams: ChatStreams = {}): CommandDefinition {
  return {
    name: 'chat',
    summary: "talk to a plan's agent; tokens stream as they come",
    usage: USAGE,
    async run(args: string[], io: CommandIo): Promise<number> {
      const { values, positionals } = parseCommandArgs(
        args,
        { timeout: { type: 'string' }, conversation: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        USAGE,
      );
      const plan = commandPlan(values, positionals, io, USAGE);
      if (typeof plan === 'number') return plan;
      const timeoutMs = parseDuration(values.timeout ?? '5m') ?? 300_000;
      const stdin = streams.stdin ?? process.stdin;
      const stdout = streams.stdout ?? process.stdout;
      const interactive = Boolean((stdin as { isTTY?: boolean }).isTTY);
      const conversation = values.conversation ?? newChatConversationId();
      return withCommandBus(io, `kokex-chat-${plan}`, async (bus) => {
        const history: Array<{ role: 'user' | 'assistant'; content: string }> = [];
        if (interactive) io.print(`chat with ${plan} (conversation ${conversation}); Ctrl-D ends`);
        const lines = createInterface({ input: stdin, terminal: false });
        io.signal.addEventListener('abort', () => lines.close(), { once: true });
        let failed = 0;
        if (interactive) stdout.write('> ');
        for await (const raw of lines) {
          const message = raw.trim();
          if (!message) continue;
          let midLine = false;
          let sawText = false;
          const reply = await chatOnce(
            bus,
            plan,
            { conversation, message, history: history.slice(-40) },
            (kind, text) => {
              if (kind === 'text') {
                stdout.write(text);
                sawText = true;
                midLine = !text.endsWith('\n');
              } else if (kind === 'tool') {
                stdout.write(`${midLine ? '\n' : ''}  · ${text}\n`);
                midLine = false;
              }
            },
            timeoutMs,
          );
          if (midLine) stdout.write('\n');
          if (!reply.ok) {
            failed += 1;
            io.print(`error: ${errorFromWire(reply.error).code}: ${reply.error.message}`);
          } else {
            if (!sawText && reply.answer) io.print(reply.answer);
            const intents = reply.intents.length ? ` · intents ${reply.intents.join(', ')}` : '';
            io.print(`[${reply.reason} · ${reply.turns} turn(s) · ${reply.toolCalls} tool call(s)${intents}]`);
            history.push({ role: 'user', content: message }, { role: 'assistant', content: reply.answer });
          }
          if (interactive) stdout.write('> ');
        }
        return failed ? 1 : 0;
      });
    },
  };
}

export const chatCommand = createChatCommand();
