import {
  type ApplyResult,
  applyPlan,
  applyTradingCommand,
  type Bus,
  controlSubject,
  describeTokenProblem,
  errorFromWire,
  getStoredPlan,
  initialControl,
  KokexError,
  PlanInvalidError,
  type PlanIssue,
  parsePlans,
  readControl,
  subject,
  TRADING_COMMANDS,
  type TradingCommand,
  writeControl,
} from '@kokex/core';
import { DashboardErrorCode } from './errors.js';
import type { ControlView } from './model.js';

/**
 * The control actions of the page, each the same bus request the CLI makes (never a side door):
 * - halt / reduce / resume: the trading-state record `control.{plan}` in `kokex-risk`, rewritten
 *   as `kokex risk` rewrites it (the risk guard and the executor watch it);
 * - pause / resume / reload of an actor: its control endpoint `kokex.ctl.{kind}.{instance}.{verb}`;
 * - chat: a request on `kokex.agent.chat.{plan}`, as `kokex chat` sends it (tokens stream on
 *   `kokex.agent.token.{plan}.{conversation}`, which the dashboard already reads);
 * - apply a plan: core's plan loader and `applyPlan`, as `kokex plan apply`.
 */
/** The trading commands, core's (`kokex risk` takes the same). */
export const RISK_VERBS = TRADING_COMMANDS;
export type RiskVerb = TradingCommand;
export const ACTOR_VERBS = ['pause', 'resume', 'reload'] as const;
export type ActorVerb = (typeof ACTOR_VERBS)[number];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function checkedToken(field: string, value: string): string {
  const problem = describeTokenProblem(value);
  if (problem) throw new KokexError(DashboardErrorCode.BadRequest, `${field} "${value}" ${problem}`, { data: { field, value } });
  return value;
}

export async function riskCommand(
  bus: Bus,
  plan: string,
  verb: RiskVerb,
  by: string,
  reason: string,
  at: number,
): Promise<{ changed: boolean; control: ControlView }> {
  checkedToken('plan', plan);
  const stored = await getStoredPlan(bus, plan);
  if (!stored) throw new KokexError(DashboardErrorCode.NotFound, `no plan ${plan} is applied`, { data: { plan } });
  // The same record, transitions and write as `kokex risk` (core's trading control).
  const current = (await readControl(bus, plan)) ?? initialControl(stored.stored.plan.spec.risk.initialState, at);
  const next = applyTradingCommand(current, verb, by, reason, at);
  if (!next) return { changed: false, control: current };
  await writeControl(bus, plan, next);
  return { changed: true, control: next };
}

export async function actorCommand(
  bus: Bus,
  kind: string,
  instance: string,
  verb: ActorVerb,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const subj = controlSubject(checkedToken('kind', kind), checkedToken('instance', instance), verb);
  const reply = await bus.nc.request(subj, encoder.encode('{}'), { timeout: timeoutMs }).catch((err: unknown) => {
    throw new KokexError(DashboardErrorCode.Unavailable, `no answer from ${subj}: ${(err as Error).message}`, {
      retryable: true,
      cause: err,
    });
  });
  const body = JSON.parse(decoder.decode(reply.data)) as { ok: boolean; error?: Parameters<typeof errorFromWire>[0] };
  if (!body.ok && body.error) throw errorFromWire(body.error);
  return body as Record<string, unknown>;
}

export interface ChatAnswer {
  ok: boolean;
  conversation: string;
  answer?: string;
  reason?: string;
  intents?: string[];
  error?: { code: string; message: string };
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** Earlier exchanges travel with each message (as `kokex chat` sends them): any agent replica can answer. */
export function chatHistory(value: unknown): ChatTurn[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((t): t is ChatTurn => (t?.role === 'user' || t?.role === 'assistant') && typeof t?.content === 'string')
    .slice(-40)
    .map((t) => ({ role: t.role, content: t.content.slice(0, 16_000) }));
}

export async function chatCommand(
  bus: Bus,
  plan: string,
  conversation: string,
  message: string,
  history: ChatTurn[] = [],
  timeoutMs = 120_000,
): Promise<ChatAnswer> {
  const subj = subject('agentChat', { plan: checkedToken('plan', plan) });
  checkedToken('conversation', conversation);
  const request = { conversation, message, history };
  const reply = await bus.nc.request(subj, encoder.encode(JSON.stringify(request)), { timeout: timeoutMs }).catch((err: unknown) => {
    throw new KokexError(
      DashboardErrorCode.Unavailable,
      `the agent of plan ${plan} did not answer (${(err as Error).message}); is an agent running with manual_chat?`,
      {
        retryable: true,
        cause: err,
      },
    );
  });
  const body = JSON.parse(decoder.decode(reply.data)) as ChatAnswer & { error?: { code: string; message: string } };
  return { ...body, conversation };
}

/** Validation only: the issues of a plan file's text, each with line and column. */
export function validatePlanText(text: string, file: string): { ok: true; plans: string[] } | { ok: false; issues: PlanIssue[] } {
  try {
    return { ok: true, plans: parsePlans(text, file).map((p) => p.metadata.name) };
  } catch (err) {
    if (err instanceof PlanInvalidError) return { ok: false, issues: [...err.issues] };
    throw err;
  }
}

export async function applyPlanText(
  bus: Bus,
  text: string,
  file: string,
  source: string,
): Promise<{ ok: true; results: ApplyResult[] } | { ok: false; issues: PlanIssue[] }> {
  const checked = validatePlanText(text, file);
  if (!checked.ok) return checked;
  const results: ApplyResult[] = [];
  for (const plan of parsePlans(text, file)) results.push(await applyPlan(bus, plan, source));
  return { ok: true, results };
}
