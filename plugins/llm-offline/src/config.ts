import { z } from 'zod';

/**
 * The offline policy's configuration (strict). The rule parameters are its own; the fields every
 * LLM provider accepts (`temperature`, `maxTokens`, `baseUrl`, `timeoutMs`, `maxRetries`) are
 * accepted and ignored, so an agent can hand every provider the same config.
 */
export const offlinePolicyConfigSchema = z
  .object({
    model: z.string().min(1).default('rules-v1').describe('A label for usage records; the rules do not change with it. Default rules-v1.'),
    buyAbove: z.number().gt(0.5).max(1).default(0.6).describe('Go long when P(up) is at least this. Default 0.6.'),
    sellBelow: z
      .number()
      .min(0)
      .lt(0.5)
      .default(0.4)
      .describe('Close a long (or go short, if allowed) when P(up) is at most this. Default 0.4.'),
    orderSize: z.number().positive().default(0.01).describe("Size of one order, in the venue's order unit. Default 0.01."),
    maxPosition: z.number().positive().default(0.05).describe('Largest absolute position the policy builds. Default 0.05.'),
    allowShort: z.boolean().default(false).describe('Open short positions on a bearish forecast. Default false (only close longs).'),
    requireTradeable: z
      .boolean()
      .default(true)
      .describe(
        "Trade only on a forecast whose skill gate says tradeable. Default true. False lets an unskilled model trade (the simulator demo does, with the risk guard's requireTradeableForecast off too); the agent derives it from the plan's risk.requireTradeableForecast.",
      ),
    minScored: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('Forecasts scored in the skill window before the policy trusts a tradeable flag. Default 0.'),
    temperature: z.number().optional().describe('Ignored (a rule policy has no sampling).'),
    maxTokens: z.number().optional().describe('Ignored.'),
    baseUrl: z.string().optional().describe('Ignored.'),
    timeoutMs: z.number().optional().describe('Ignored.'),
    maxRetries: z.number().optional().describe('Ignored.'),
  })
  .strict()
  .refine((c) => c.maxPosition >= c.orderSize, { message: 'maxPosition must be at least orderSize', path: ['maxPosition'] });
export type OfflinePolicyConfig = z.output<typeof offlinePolicyConfigSchema>;
export type OfflinePolicyOptions = z.input<typeof offlinePolicyConfigSchema>;
