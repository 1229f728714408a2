import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { z } from 'zod';

/**
 * What the policy reads from a conversation: the results of the tools it called since the last
 * human (trigger) message. Only numbers and flags are taken from tool results, through narrow
 * schemas; any text in them (a note, an instruction planted in a tool result) is never read, so it
 * cannot steer a decision.
 */
export interface ToolOutcome {
  callId: string;
  args: Record<string, unknown>;
  /** Undefined while the call has no result yet. */
  content?: string;
  /** The tool reported a failure (ToolMessage status `error`, or a JSON `{error}` result). */
  failed?: boolean;
}

export interface ConversationState {
  /** Tool calls of this trigger by tool name, the latest last. */
  calls: Map<string, ToolOutcome[]>;
  /** AI messages in the whole conversation; numbers the policy's tool call ids. */
  aiTurns: number;
}

/** The forecast fields the rules use (core's `Forecast`, or any summary that keeps them). */
export const forecastFieldsSchema = z.object({
  inst: z.string().optional(),
  pUp: z.number().min(0).max(1),
  tradeable: z.boolean(),
  lastClose: z.number().optional(),
  skill: z
    .object({
      scored: z.number().optional(),
      tradeable: z.boolean().optional(),
      reason: z.string().optional(),
    })
    .optional(),
});
export type ForecastFields = z.infer<typeof forecastFieldsSchema>;

const positionSchema = z.object({ inst: z.string(), size: z.number() });

function contentText(message: BaseMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((b) => (typeof b === 'object' && 'text' in b && typeof b.text === 'string' ? b.text : '')).join('');
}

/** Splits the conversation at the last human message and pairs each tool call with its result. */
export function readConversation(messages: readonly BaseMessage[]): ConversationState {
  let start = 0;
  messages.forEach((m, i) => {
    if (HumanMessage.isInstance(m)) start = i + 1;
  });
  const byId = new Map<string, { name: string; outcome: ToolOutcome }>();
  const calls = new Map<string, ToolOutcome[]>();
  for (const m of messages.slice(start)) {
    if (AIMessage.isInstance(m)) {
      for (const call of m.tool_calls ?? []) {
        const outcome: ToolOutcome = { callId: call.id ?? '', args: call.args };
        byId.set(outcome.callId, { name: call.name, outcome });
        calls.set(call.name, [...(calls.get(call.name) ?? []), outcome]);
      }
    } else if (ToolMessage.isInstance(m)) {
      const entry = byId.get(m.tool_call_id);
      if (!entry) continue;
      entry.outcome.content = contentText(m);
      entry.outcome.failed = m.status === 'error' || hasErrorField(entry.outcome.content);
    }
  }
  return { calls, aiTurns: messages.filter((m) => AIMessage.isInstance(m)).length };
}

/** The latest answered call of a tool in this trigger, if any. */
export function latestResult(state: ConversationState, tool: string): ToolOutcome | undefined {
  return state.calls
    .get(tool)
    ?.filter((c) => c.content !== undefined)
    .at(-1);
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function hasErrorField(text: string): boolean {
  const json = parseJson(text);
  return typeof json === 'object' && json !== null && 'error' in json && Boolean((json as { error: unknown }).error);
}

/** The forecast in a get_forecast result (`{…}` or `{forecast: {…}}`), or why there is none. */
export function forecastFrom(outcome: ToolOutcome): ForecastFields | { missing: string } {
  if (outcome.failed) return { missing: 'get_forecast failed' };
  const json = parseJson(outcome.content);
  const candidate = typeof json === 'object' && json !== null && 'forecast' in json ? (json as { forecast: unknown }).forecast : json;
  if (candidate === null || candidate === undefined) return { missing: 'no forecast has been published yet' };
  const parsed = forecastFieldsSchema.safeParse(candidate);
  if (!parsed.success) return { missing: 'the forecast result has no numeric pUp and boolean tradeable' };
  return parsed.data;
}

/**
 * The signed position (long positive) in `inst` from a get_positions result: an array of
 * positions or `{positions: [...]}`. Without an instrument, all positions count. Undefined when
 * the result cannot be read.
 */
export function positionFrom(outcome: ToolOutcome, inst: string | undefined): number | undefined {
  if (outcome.failed) return undefined;
  const json = parseJson(outcome.content);
  const list = Array.isArray(json)
    ? json
    : typeof json === 'object' && json !== null
      ? (json as { positions?: unknown }).positions
      : undefined;
  if (!Array.isArray(list)) return undefined;
  let total = 0;
  for (const item of list) {
    const p = positionSchema.safeParse(item);
    if (!p.success) return undefined;
    if (inst === undefined || p.data.inst === inst) total += p.data.size;
  }
  return total;
}
