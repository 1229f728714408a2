import { resolve } from 'node:path';
import { ActorHost, type Bus, type Forecast, ForecastContract, parsePlan, type Plan, subject } from '@kokex/core';
import { captureLogger } from '@kokex/core/testing';

/** Shared fixtures: a plan with an agent on the offline policy, forecasts, and a host running the agent. */
export const REPO = resolve(import.meta.dirname, '../../..');
export const DIRS = {
  agent: resolve(REPO, 'actors/agent'),
  offline: resolve(REPO, 'plugins/llm-offline'),
};
export const SWAP = 'BTC-USDT-SWAP';

export function agentPlan(name: string, agent = 'triggers: [auto_inference, manual_chat]'): Plan {
  const yaml = `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: paper }
  instrument: ${SWAP}
  timeframe: 1m
  agent: { provider: offline-policy, ${agent} }
  risk: { maxNotional: 5000, maxPositionNotional: 9000, maxDailyLoss: 100 }`;
  return parsePlan(yaml, `${name}.yaml`);
}

export function forecast(fields: Partial<Forecast> & { reason?: string } = {}): Forecast {
  const { reason, ...rest } = fields;
  const tradeable = rest.tradeable ?? true;
  const horizon = 3;
  const closes = [100, 101, 102];
  return {
    venue: 'okx',
    inst: SWAP,
    tf: '1m',
    asOf: 1_700_000_000_000,
    lastClose: 100,
    horizon,
    steps: [1_700_000_060_000, 1_700_000_120_000, 1_700_000_180_000],
    mean: { close: closes, high: closes.map((c) => c + 1), low: closes.map((c) => c - 1) },
    median: { close: closes },
    quantiles: {
      levels: [0.1, 0.9],
      close: [closes.map((c) => c - 2), closes.map((c) => c + 2)],
      high: [closes, closes],
      low: [closes, closes],
    },
    pUp: 0.7,
    pUpRaw: 0.68,
    pVolExpand: 0.4,
    expectedMaxAdverse: { long: 0.01, short: 0.012 },
    model: { name: 'kronos', version: 'v1' },
    settings: { paths: 8, lookback: 64, temperature: 1, topK: 0, topP: 0.9, seed: 1, executionProvider: 'cpu' },
    computeMs: 12,
    skill: {
      scored: 150,
      window: 500,
      model: { crps: 0.8 },
      baselines: { persistence: { crps: 1 } },
      tradeable,
      reason: reason ?? (tradeable ? 'beats persistence and random-walk on crps' : 'only 10 of 100 forecasts scored'),
    },
    tradeable,
    ...rest,
  };
}

export async function publishForecast(bus: Bus, f: Forecast, id: string) {
  return bus.publish(ForecastContract, subject('forecast', { inst: f.inst, tf: f.tf }), f, { id, correlationId: `corr-${id}` });
}

export async function agentHost(bus: Bus, config: Record<string, unknown> = {}): Promise<ActorHost> {
  const host = new ActorHost({ bus, log: captureLogger('error').log, kinds: ['agent'], config: { agent: config }, heartbeatMs: 500 });
  await host.loadPlugin(DIRS.offline);
  await host.loadPlugin(DIRS.agent);
  await host.start();
  return host;
}
