import { resolve } from 'node:path';
import { ActorHost, barClose, type Bus, type Forecast, ForecastContract, parsePlan, type Plan, subject } from '@kokex/core';
import { captureLogger, sampleForecast } from '@kokex/core/testing';

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

/** The shared sample forecast (core's testing entry): tradeable, three steps, BTC-USDT-SWAP 1m. */
export const forecast = sampleForecast;

export async function publishForecast(bus: Bus, f: Forecast, id: string) {
  // As the inferencer publishes one: it speaks for the close of the bar it saw (market time).
  return bus.publish(ForecastContract, subject('forecast', { inst: f.inst, tf: f.tf }), f, {
    id,
    correlationId: `corr-${id}`,
    eventTime: barClose(f.asOf, f.tf),
  });
}

export async function agentHost(bus: Bus, config: Record<string, unknown> = {}): Promise<ActorHost> {
  const host = new ActorHost({ bus, log: captureLogger('error').log, kinds: ['agent'], config: { agent: config }, heartbeatMs: 500 });
  await host.loadPlugin(DIRS.offline);
  await host.loadPlugin(DIRS.agent);
  await host.start();
  return host;
}
