import { type Bus, Streams, subject } from '@kokex/core';
import { type AgentTurn, AgentTurnContract } from '@kokex/core';
import { nextBySubject } from './stream-reads.js';

/**
 * Past conversations from the AGENT stream: every turn record of a plan, grouped by conversation,
 * in stream order. This is the bus-only view; `actors/history` projects the same records to MongoDB
 * for queries over long histories.
 */
export interface ConversationSummary {
  conversation: string;
  trigger: AgentTurn['trigger'];
  startedAt: number;
  provider?: string;
  parts: number;
  turns: number;
  toolCalls: number;
  intents: string[];
  reason?: string;
  answer?: string;
  correlationId: string;
}

export interface StoredTurn {
  seq: number;
  time: number;
  correlationId: string;
  turn: AgentTurn;
}

export async function readTurns(bus: Bus, plan: string, filter?: (turn: AgentTurn) => boolean): Promise<StoredTurn[]> {
  const subj = subject('agentTurn', { plan });
  const out: StoredTurn[] = [];
  for (let seq = 1; ; ) {
    const msg = await nextBySubject(bus, Streams.agent, subj, seq);
    if (!msg) return out;
    seq = msg.seq + 1;
    try {
      const env = AgentTurnContract.decode(msg.data);
      if (!filter || filter(env.data)) out.push({ seq: msg.seq, time: env.time, correlationId: env.correlationId, turn: env.data });
    } catch {
      // A record of another schema version is left out of the listing.
    }
  }
}

export function summarize(turns: StoredTurn[]): ConversationSummary[] {
  const byId = new Map<string, ConversationSummary>();
  for (const { turn, time, correlationId } of turns) {
    let s = byId.get(turn.conversation);
    if (!s) {
      s = {
        conversation: turn.conversation,
        trigger: turn.trigger,
        startedAt: time,
        parts: 0,
        turns: 0,
        toolCalls: 0,
        intents: [],
        correlationId,
      };
      byId.set(turn.conversation, s);
    }
    if (turn.record === 'started') {
      s.parts += 1;
      s.provider = turn.provider;
    } else if (turn.record === 'ended') {
      s.turns += turn.turns;
      s.toolCalls += turn.toolCalls;
      s.intents.push(...turn.intents);
      s.reason = turn.reason;
      s.answer = turn.answer;
    }
  }
  return [...byId.values()];
}

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** One conversation as readable lines, in the order it happened. */
export function replayLines(turns: StoredTurn[], options: { full?: boolean } = {}): string[] {
  const lines: string[] = [];
  for (const { turn, time } of turns) {
    const at = new Date(time).toISOString();
    switch (turn.record) {
      case 'started': {
        lines.push(
          `── ${at} ${turn.trigger} · ${turn.provider}${turn.model ? `/${turn.model}` : ''} · ${turn.inst} ${turn.tf} · cause ${turn.cause.type ?? ''} ${turn.cause.id}`,
        );
        lines.push(
          `   limits: ${turn.limits.maxTurns} turns, ${turn.limits.maxToolCalls} tool calls, ${turn.limits.maxTokens} tokens; tools: ${turn.tools.join(', ')}`,
        );
        const system = options.full
          ? turn.system
          : `${clip(turn.system.split('\n')[0] ?? '', 120)} (${turn.system.length} chars; --full shows it)`;
        lines.push(`   system: ${system}`);
        break;
      }
      case 'message':
        if (turn.role === 'user') lines.push(`user: ${turn.content}`);
        else {
          if (turn.content) lines.push(`assistant[${turn.turn}]: ${turn.content}`);
          if (!turn.content && !turn.toolCalls.length) lines.push(`assistant[${turn.turn}]: (empty)`);
        }
        break;
      case 'tool_call':
        lines.push(`  → ${turn.tool} ${JSON.stringify(turn.args)}`);
        break;
      case 'tool_result': {
        const intent = turn.intent
          ? ` [intent ${turn.intent.clientOrderId}${turn.intent.cancels ? ` cancels ${turn.intent.cancels}` : ''}]`
          : '';
        lines.push(`  ← ${turn.tool} ${turn.ok ? 'ok' : 'error'}${intent}: ${options.full ? turn.content : clip(turn.content, 200)}`);
        break;
      }
      case 'ended':
        lines.push(
          `── ended: ${turn.reason} · ${turn.turns} turn(s) · ${turn.toolCalls} tool call(s) · ${turn.tokens.inputTokens + turn.tokens.outputTokens} tokens · ${turn.durationMs} ms${turn.intents.length ? ` · intents ${turn.intents.join(', ')}` : ''}`,
        );
        if (turn.error) lines.push(`   error: ${turn.error.code}: ${turn.error.message}`);
        break;
    }
  }
  return lines;
}
