import { isKokexError, KokexError } from '@kokex/core';

/**
 * Error codes of the agent. A limit reached is not one of these: it ends the conversation with a
 * reason (`max_turns`, `max_tool_calls`, `max_tokens`, `timeout`) recorded on the turn subject. Tool
 * failures the model can correct (bad arguments, a disabled tool, another instrument) go back to the
 * model as the tool's result carrying the code, and are recorded; they are never thrown.
 */
export const AgentErrorCode = {
  /** The plan's `agent.provider` names no loaded `llm` adapter, or the adapter refused its config. */
  Provider: 'AGENT_PROVIDER',
  /** The prompt template file is missing or unreadable, or names a placeholder the agent does not fill. */
  PromptTemplate: 'AGENT_PROMPT_TEMPLATE',
  /** The chat model call failed (the provider's error is the cause). Retryable when the cause is. */
  ModelFailed: 'AGENT_MODEL_FAILED',
  /** Publishing an intent or a turn record failed. */
  Publish: 'AGENT_PUBLISH',
  /** The model called a tool with arguments that fail its schema (sent back to the model). */
  ToolInput: 'AGENT_TOOL_INPUT',
  /** The model called a tool the plan does not enable (sent back to the model). */
  ToolDisabled: 'AGENT_TOOL_DISABLED',
  /** An order tool named an instrument the plan does not trade (sent back to the model). */
  InstrumentNotAllowed: 'AGENT_INSTRUMENT_NOT_ALLOWED',
  /** A read tool failed (stream or venue unreachable); sent back to the model. */
  ToolFailed: 'AGENT_TOOL_FAILED',
  /** Chat or conversations for a plan that is not applied, has no agent, or does not allow manual_chat. */
  PlanUnknown: 'AGENT_PLAN_UNKNOWN',
  /** `kokex chat` got no answer: no agent is running for the plan, or it did not answer in time. */
  ChatUnavailable: 'AGENT_CHAT_UNAVAILABLE',
  /** A chat request that is not `{conversation, message, history?}`. */
  ChatRequestInvalid: 'AGENT_CHAT_REQUEST_INVALID',
  /** The agent already runs `maxConcurrent` conversations; the trigger is retried. */
  Busy: 'AGENT_BUSY',
  /** `kokex conversations --id` named a conversation the AGENT stream does not hold for the plan. */
  ConversationNotFound: 'AGENT_CONVERSATION_NOT_FOUND',
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];

const detail = (cause: unknown) => (cause as Error)?.message ?? String(cause);

export class AgentProviderError extends KokexError {
  constructor(provider: string, plan: string, cause: unknown) {
    super(AgentErrorCode.Provider, `plan ${plan}: chat model provider "${provider}" is not available (${detail(cause)})`, {
      cause,
      data: { provider, plan },
    });
  }
}

export class AgentPromptTemplateError extends KokexError {
  constructor(template: string, problem: string, cause?: unknown) {
    super(AgentErrorCode.PromptTemplate, `prompt template ${template}: ${problem}`, { cause, data: { template } });
  }
}

export class AgentModelError extends KokexError {
  constructor(provider: string, cause: unknown) {
    const retryable = isKokexError(cause) ? cause.retryable : true;
    const code = isKokexError(cause) ? cause.code : 'error';
    super(AgentErrorCode.ModelFailed, `chat model ${provider} failed (${code}: ${detail(cause)})`, {
      retryable,
      cause,
      data: { provider, cause: code },
    });
  }
}

export class AgentPublishError extends KokexError {
  constructor(what: string, cause: unknown) {
    super(AgentErrorCode.Publish, `publishing ${what} failed: ${detail(cause)}`, { retryable: true, cause });
  }
}

/** A tool failure the model sees as the tool's result. */
export class AgentToolError extends KokexError {
  constructor(code: AgentErrorCode, tool: string, message: string, data: Record<string, unknown> = {}) {
    super(code, `${tool}: ${message}`, { data: { tool, ...data } });
  }
}

export class AgentPlanUnknownError extends KokexError {
  constructor(plan: string, problem: string) {
    super(AgentErrorCode.PlanUnknown, `plan ${plan}: ${problem}`, { data: { plan } });
  }
}

export class AgentChatUnavailableError extends KokexError {
  constructor(plan: string, cause: unknown) {
    super(
      AgentErrorCode.ChatUnavailable,
      `no agent answered for plan ${plan} (${detail(cause)}); is an agent running (npx kokex up, or kokex host --actors agent)?`,
      { retryable: true, cause, data: { plan } },
    );
  }
}

export class AgentChatRequestError extends KokexError {
  constructor(problem: string) {
    super(AgentErrorCode.ChatRequestInvalid, `invalid chat request: ${problem}`);
  }
}

export class AgentBusyError extends KokexError {
  constructor(running: number) {
    super(AgentErrorCode.Busy, `the agent already runs ${running} conversation(s); try again`, { retryable: true, data: { running } });
  }
}

export class AgentConversationNotFoundError extends KokexError {
  constructor(plan: string, id: string, known: string[]) {
    const hint = known.length ? `; recent: ${known.slice(-5).join(', ')}` : '; the AGENT stream holds none for this plan';
    super(AgentErrorCode.ConversationNotFound, `plan ${plan} has no conversation ${id}${hint}`, { data: { plan, id } });
  }
}
