import { z } from 'zod';
import type { RefinementParams } from './fields.js';
import { durationField, nameToken, scheduleField, uniqueListField } from './fields.js';

/** place_order and cancel_order publish order intents; no tool reaches the exchange. */
export const AGENT_TOOLS = [
  'get_market',
  'get_forecast',
  'get_positions',
  'get_balance',
  'get_open_orders',
  'place_order',
  'cancel_order',
] as const;
export type AgentTool = (typeof AGENT_TOOLS)[number];

export const AGENT_TRIGGERS = ['auto_inference', 'kline_event', 'order_event', 'scheduled_decision', 'manual_chat'] as const;
export type AgentTrigger = (typeof AGENT_TRIGGERS)[number];

const promptSchema = z
  .object({
    template: z.string().min(1).optional().describe('Prompt template file, relative to the plan file. Absent: the built-in template.'),
    instructions: z.string().min(1).optional().describe('Extra instructions appended to the system prompt.'),
  })
  .strict()
  .describe('The system prompt; instrument, limits, tools and the latest forecast are filled in by the agent.');

const limitsSchema = z
  .object({
    maxTurns: z.number().int().positive().max(100).default(6).describe('Model turns per trigger.'),
    maxToolCalls: z.number().int().positive().max(1000).default(12).describe('Tool calls per trigger.'),
    maxTokens: z.number().int().positive().max(10_000_000).default(8000).describe('Tokens (prompt and completion) per trigger.'),
    timeout: durationField('Wall-clock time per trigger.').default('2m'),
  })
  .strict()
  .describe('Bounds on one conversation, per trigger.');

export const agentSchema = z
  .object({
    enabled: z.boolean().default(true).describe('When false, no agent runs for this plan (orders come from the CLI or schedules).'),
    provider: nameToken(
      'provider name',
      'Chat model provider plugin: offline-policy (rules, no LLM), openai, anthropic, dashscope, …',
    ).default('offline-policy'),
    model: z.string().min(1).optional().describe("The provider's model id. Absent: the provider's default."),
    baseUrl: z
      .string()
      .url()
      .optional()
      .describe('Endpoint of an OpenAI-compatible server (vLLM, Ollama, llama.cpp). Keys come from the environment.'),
    temperature: z.number().min(0).max(2).default(0.2).describe('Sampling temperature of the chat model.'),
    prompt: promptSchema.default({}),
    tools: uniqueListField(z.enum(AGENT_TOOLS), 'tool', 'Tools the agent may call.').default([...AGENT_TOOLS]),
    triggers: uniqueListField(z.enum(AGENT_TRIGGERS), 'trigger', 'What starts a conversation.').default([
      'auto_inference',
      'order_event',
      'manual_chat',
    ]),
    schedule: scheduleField('When scheduled_decision fires; required when triggers include it.').optional(),
    limits: limitsSchema.default({}),
  })
  .strict()
  .superRefine((agent, ctx) => {
    if (!agent.triggers.includes('scheduled_decision') || agent.schedule !== undefined) return;
    const params: RefinementParams = {
      expected: 'an interval or cron expression, since triggers include scheduled_decision',
    };
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['schedule'], message: 'schedule missing', params });
  })
  .describe('The decision maker: a chat model with tools, or the offline rule policy.');
