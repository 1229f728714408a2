import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Forecast } from '@kokex/core';
import type { AgentPlan } from './config.js';
import { AgentPromptTemplateError } from './errors.js';

/**
 * The system prompt: a template file (the plan's `agent.prompt.template`, or the shipped
 * `prompts/default.md`) with `{{placeholder}}`s filled from the plan, its limits, the enabled tools
 * and the latest forecast with its skill record. A placeholder the agent does not know is an
 * error, so a typo in a template fails loudly instead of reaching the model as literal braces.
 */
export const DEFAULT_TEMPLATE = resolve(import.meta.dirname, '../prompts/default.md');

export const PROMPT_PLACEHOLDERS = [
  'plan',
  'instrument',
  'timeframe',
  'venue',
  'mode',
  'tools',
  'limits',
  'risk',
  'forecast',
  'tradeable',
  'trigger',
  'now',
  'instructions',
] as const;
export type PromptPlaceholder = (typeof PROMPT_PLACEHOLDERS)[number];

const PLACEHOLDER = /\{\{\s*([A-Za-z_]+)\s*\}\}/g;
const fmt = (n: number, digits = 6) => Number(n.toPrecision(digits)).toString();

/** Where a relative template is looked for: the plan file's folder, configured folders, the working directory, `plans/`, the shipped prompts. */
export function templateCandidates(template: string, planSource: string | undefined, promptDirs: readonly string[]): string[] {
  if (isAbsolute(template)) return [template];
  const dirs = [
    ...(planSource && /\.(ya?ml)$/i.test(planSource) ? [dirname(resolve(planSource))] : []),
    ...promptDirs,
    process.cwd(),
    resolve(process.cwd(), 'plans'),
    dirname(DEFAULT_TEMPLATE),
  ];
  return [...new Set(dirs.map((d) => resolve(d, template)))];
}

export async function loadTemplate(
  template: string | undefined,
  planSource: string | undefined,
  promptDirs: readonly string[],
): Promise<string> {
  if (!template) return readFile(DEFAULT_TEMPLATE, 'utf8');
  const tried = templateCandidates(template, planSource, promptDirs);
  for (const path of tried) {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new AgentPromptTemplateError(path, `cannot be read (${(err as Error).message})`, err);
    }
  }
  throw new AgentPromptTemplateError(template, `not found; looked in ${tried.join(', ')}`);
}

/** Fills the placeholders; throws AgentPromptTemplateError naming any unknown one. */
export function renderTemplate(text: string, values: Record<PromptPlaceholder, string>, templateName = 'template'): string {
  const unknown = [...text.matchAll(PLACEHOLDER)]
    .map((m) => m[1] ?? '')
    .filter((name) => !(PROMPT_PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length) {
    throw new AgentPromptTemplateError(
      templateName,
      `unknown placeholder(s) ${[...new Set(unknown)].map((u) => `{{${u}}}`).join(', ')}; known: ${PROMPT_PLACEHOLDERS.join(', ')}`,
    );
  }
  return text
    .replace(PLACEHOLDER, (_m, name: PromptPlaceholder) => values[name])
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The sentence about `tradeable` the prompt always carries, so the model cannot miss the skill gate. */
export function tradeableSentence(forecast: Forecast | undefined): string {
  if (!forecast) return 'No forecast has been published yet: do not open or add to a position; reducing risk is allowed.';
  if (forecast.tradeable) {
    return `The latest forecast IS tradeable: the model has beaten every baseline over its skill window (${forecast.skill.reason}). You may act on it within the limits.`;
  }
  return `The latest forecast is NOT tradeable (${forecast.skill.reason}): do not open or add to a position on it; closing or reducing a position is allowed.`;
}

/** The forecast as the model reads it: the final-step numbers and the skill record, not the per-step arrays. */
export function forecastSummary(f: Forecast): Record<string, unknown> {
  const last = f.horizon - 1;
  const bands: Record<string, number> = {};
  f.quantiles.levels.forEach((level, i) => {
    const v = f.quantiles.close[i]?.[last];
    if (v !== undefined) bands[`q${Math.round(level * 100)}`] = Number(fmt(v));
  });
  return {
    inst: f.inst,
    tf: f.tf,
    asOf: new Date(f.asOf).toISOString(),
    lastClose: f.lastClose,
    horizonBars: f.horizon,
    pUp: Number(fmt(f.pUp, 4)),
    pUpRaw: Number(fmt(f.pUpRaw, 4)),
    pVolExpand: Number(fmt(f.pVolExpand, 4)),
    expectedMaxAdverse: f.expectedMaxAdverse,
    finalClose: { median: f.median.close[last], mean: f.mean.close[last], ...bands },
    tradeable: f.tradeable,
    skill: {
      scored: f.skill.scored,
      window: f.skill.window,
      model: f.skill.model,
      baselines: f.skill.baselines,
      ...(f.skill.coverage80 !== undefined ? { coverage80: f.skill.coverage80 } : {}),
      ...(f.skill.coverage90 !== undefined ? { coverage90: f.skill.coverage90 } : {}),
      tradeable: f.skill.tradeable,
      reason: f.skill.reason,
    },
    model: f.model,
  };
}

export interface SystemPromptInput {
  plan: AgentPlan;
  template: string;
  templateName?: string;
  forecast: Forecast | undefined;
  trigger: string;
  now: number;
}

export function buildSystemPrompt(input: SystemPromptInput): string {
  const { plan, forecast } = input;
  const l = plan.limits;
  const r = plan.risk;
  return renderTemplate(
    input.template,
    {
      plan: plan.plan,
      instrument: plan.instruments.length > 1 ? `${plan.inst} (also allowed: ${plan.instruments.slice(1).join(', ')})` : plan.inst,
      timeframe: plan.tf,
      venue: plan.venue,
      mode: plan.mode,
      tools: plan.tools.length ? plan.tools.join(', ') : 'none (answer in words only)',
      limits: `at most ${l.maxTurns} model turns, ${l.maxToolCalls} tool calls, ${l.maxTokens} tokens and ${Math.round(l.timeoutMs / 1000)} s; the conversation is cut off at any of them`,
      risk: `order notional <= ${r.maxNotional}, position notional <= ${r.maxPositionNotional}, daily loss <= ${r.maxDailyLoss}, open orders <= ${r.maxOpenOrders}${r.requireTradeableForecast ? ', new risk only on a tradeable forecast' : ''}`,
      forecast: forecast ? JSON.stringify(forecastSummary(forecast), null, 2) : 'none yet',
      tradeable: tradeableSentence(forecast),
      trigger: input.trigger,
      now: new Date(input.now).toISOString(),
      instructions: plan.instructions ? `Instructions from the plan:\n${plan.instructions}` : '',
    },
    input.templateName,
  );
}
