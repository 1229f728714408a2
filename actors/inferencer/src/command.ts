import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type Bus,
  type CommandDefinition,
  type CommandIo,
  connectBus,
  ForecastContract,
  getStoredPlan,
  latestModel,
  loadPlanFile,
  type Plan,
  Streams,
  subject,
} from '@kokex/core';
import { NoForecastError } from './errors.js';
import { formatForecast } from './format.js';
import { formatSkillReport, skillReport } from './skill/report.js';
import { SkillStore } from './skill/store.js';

const USAGE = `usage: kokex forecast <plan.yaml | plan name> [--json]

  Prints the latest forecast of the plan's instrument and timeframe (the last message on
  kokex.forecast.{inst}.{tf} in FORECASTS): P(up), P(volatility expands), the skill record beside
  the baselines, whether it is tradeable, and the quantile bands per step. --json prints the message.`;

/** `<plan> [--json]` as both commands take it: the target and flags, or the exit code to return (help, usage error). */
function planCommandArgs(name: string, usage: string, args: string[], io: CommandIo): { target: string; json: boolean } | number {
  const options = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options });
  } catch (err) {
    io.print(`kokex ${name}: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const [target] = parsed.positionals;
  if (parsed.values.help || !target) {
    io.print(usage);
    return target || parsed.values.help ? 0 : 2;
  }
  return { target, json: parsed.values.json === true };
}

/** `npx kokex forecast <plan>`: the latest forecast as a table (or JSON). */
export const forecastCommand: CommandDefinition = {
  name: 'forecast',
  summary: "print the latest forecast of a plan's instrument and timeframe, with its skill record",
  usage: USAGE,
  async run(args, io) {
    const parsed = planCommandArgs('forecast', USAGE, args, io);
    if (typeof parsed === 'number') return parsed;
    const { target } = parsed;
    const bus = await connectBus({ name: 'kokex-forecast', reconnect: false, ...(io.env.NATS_URL ? { url: io.env.NATS_URL } : {}) });
    try {
      const plan = await resolvePlan(bus, target);
      if (!plan) {
        io.print(`kokex forecast: ${target} is neither a plan file nor an applied plan (npx kokex plan ls)`);
        return 2;
      }
      const forecastSubject = subject('forecast', { inst: plan.spec.instrument, tf: plan.spec.timeframe });
      const stored = await bus.jsm.streams.getMessage(Streams.forecasts, { last_by_subj: forecastSubject }).catch(() => null);
      if (!stored) throw new NoForecastError(forecastSubject);
      const envelope = ForecastContract.decode(stored.data);
      io.print(parsed.json ? JSON.stringify(envelope, null, 2) : formatForecast(envelope, plan.metadata.name));
      return 0;
    } finally {
      await bus.close();
    }
  },
};

const SKILL_USAGE = `usage: kokex skill <plan.yaml | plan name> [--json]

  Prints the live skill record of the model version serving the plan's instrument and timeframe
  (the version of the latest forecast, else the registry's newest): per metric the model and the
  baselines with 95% intervals (HAC standard errors over the overlapping forecasts), the
  reliability of P(up) in ten bins, band coverage per horizon step against the expected coverage,
  and the gate's test and reasoning. --json prints the report as JSON.`;

async function resolvePlan(bus: Bus, target: string): Promise<Plan | undefined> {
  if (existsSync(target)) return loadPlanFile(target);
  return (await getStoredPlan(bus, target))?.stored.plan;
}

/** `npx kokex skill <plan>`: the skill record of the serving model version, as evidence. */
export const skillCommand: CommandDefinition = {
  name: 'skill',
  summary: "print the live skill record of a plan's model: scores with intervals, reliability, coverage per step, the gate",
  usage: SKILL_USAGE,
  async run(args, io) {
    const parsed = planCommandArgs('skill', SKILL_USAGE, args, io);
    if (typeof parsed === 'number') return parsed;
    const { target } = parsed;
    const bus = await connectBus({ name: 'kokex-skill', reconnect: false, ...(io.env.NATS_URL ? { url: io.env.NATS_URL } : {}) });
    try {
      const plan = await resolvePlan(bus, target);
      if (!plan) {
        io.print(`kokex skill: ${target} is neither a plan file nor an applied plan (npx kokex plan ls)`);
        return 2;
      }
      const { instrument: inst, timeframe: tf, forecast } = plan.spec;
      const forecastSubject = subject('forecast', { inst, tf });
      const stored = await bus.jsm.streams.getMessage(Streams.forecasts, { last_by_subj: forecastSubject }).catch(() => null);
      const serving = stored
        ? ForecastContract.decode(stored.data).data.model
        : await latestModel(bus, plan.spec.model.name, inst, tf).then((r) => ({ name: r.name, version: r.version }));
      const key = { model: serving.name, version: serving.version, inst, tf };
      const record = await new SkillStore(bus).load(key, forecast.skillGate.window);
      const report = skillReport(record, forecast);
      io.print(parsed.json ? JSON.stringify(report, null, 2) : formatSkillReport(report, plan.metadata.name));
      return 0;
    } finally {
      await bus.close();
    }
  },
};
