import { z } from 'zod';
import { instrumentToken, planToken, timeframeToken } from '../contracts/tokens.js';
import { agentSchema } from './agent.js';
import { dataSchema } from './data.js';
import type { RefinementParams } from './fields.js';
import { tokenField, withNotes } from './fields.js';
import { forecastSchema } from './forecast.js';
import { MODEL_PRESET_CONTEXT, modelSchema, SHIPPED_MODEL_LOOKBACK } from './model.js';
import { riskSchema } from './risk.js';
import { venueSchema } from './venue.js';

export const PLAN_API_VERSION = 'kokex/v1';
export const PLAN_KIND = 'Plan';

const metadataSchema = z
  .object({
    name: tokenField(planToken, 'plan name', 'Plan name, unique in the system; a subject token (letters, digits, - and _).'),
    description: z.string().optional().describe('What the plan is for, in a sentence.'),
    labels: z.record(z.string()).optional().describe('Free-form string labels for selecting plans.'),
  })
  .strict()
  .describe('Who the plan is.');

const specSchema = z
  .object({
    venue: venueSchema,
    instrument: tokenField(instrumentToken, 'instrument id', 'Venue instrument id, e.g. BTC-USDT-SWAP, BTC-USDT.'),
    timeframe: timeframeToken.describe('OKX bar name: 1m, 5m, 15m, 1H, 4H, 1D, … (case matters: 1m is a minute, 1M a month).'),
    data: dataSchema.default({}),
    model: modelSchema.default({}),
    forecast: forecastSchema.default({}),
    agent: agentSchema.default({}),
    risk: riskSchema,
  })
  .strict()
  .superRefine((spec, ctx) => {
    // The predictor sees at most its context; bars beyond it would be normalized over but never seen.
    const context = MODEL_PRESET_CONTEXT[spec.model.preset];
    if (spec.forecast.lookback > context) {
      const shipped = spec.model.preset === 'shipped';
      const params: RefinementParams = {
        expected: `at most ${context} bars, the context of the ${spec.model.preset} model`,
        detail: `the predictor never sees older bars; set forecast.lookback to ${shipped ? `${SHIPPED_MODEL_LOOKBACK}, what the shipped model was trained on, or at most ${context}` : `at most ${context}`}, or choose a model.preset with a longer context (mini: ${MODEL_PRESET_CONTEXT.mini})`,
      };
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['forecast', 'lookback'], message: 'lookback above the model context', params });
    }
    const allowed = spec.risk.allowInstruments;
    if (!allowed || allowed.includes(spec.instrument)) return;
    const params: RefinementParams = {
      expected: `a list that includes the plan's instrument ${spec.instrument}`,
      detail: `${spec.instrument} is missing`,
    };
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['risk', 'allowInstruments'], message: 'instrument not allowed', params });
  })
  .describe('What the plan trades and how.');

/**
 * A plan file, `apiVersion: kokex/v1`, `kind: Plan`. Every object is strict (an unknown field is an
 * error, so a typo never silently falls back to a default). Required: metadata.name, spec.venue.mode,
 * spec.instrument, spec.timeframe and the money limits in spec.risk; everything else has a default.
 */
export const planSchema = withNotes(
  z
    .object({
      apiVersion: z.literal(PLAN_API_VERSION).describe(`Always ${PLAN_API_VERSION}.`),
      kind: z.literal(PLAN_KIND).describe(`Always ${PLAN_KIND}.`),
      metadata: metadataSchema,
      spec: specSchema,
    })
    .strict(),
  { expected: 'a plan: a mapping with apiVersion, kind, metadata and spec' },
);

/** A validated plan with every default filled in. */
export type Plan = z.output<typeof planSchema>;
/** A plan as written in a file, before defaults. */
export type PlanInput = z.input<typeof planSchema>;
export type PlanSpec = Plan['spec'];
export type PlanVenue = PlanSpec['venue'];
export type PlanData = PlanSpec['data'];
export type PlanModel = PlanSpec['model'];
export type PlanForecast = PlanSpec['forecast'];
export type PlanAgent = PlanSpec['agent'];
export type PlanRisk = PlanSpec['risk'];
