import { type ActorHost, type AgentTurn, applyPlan, parsePlan, Streams } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentDurables, conversationIdFor, readTurns } from '../src/index.js';
import { agentHost, forecast, publishForecast, SWAP } from './support.js';

/**
 * A replayed plan's agent decides on every forecast of a backlog (issue 11, speed independence);
 * what it reads while deciding on bar T is as of T's market time. get_forecast read the newest
 * stored forecast, so a pipeline behind the market decided bar T on bar T+1's P(up): at 60× the
 * decisions differed from lockstep's (core/test/backtest-speed.test.ts), and a decision acted on a
 * bar after its own market time.
 */
let nats: TestNats;
let host: ActorHost | undefined;

beforeAll(async () => {
  nats = await startTestNats();
  const plan = parsePlan(
    `apiVersion: kokex/v1
kind: Plan
metadata: { name: delta }
spec:
  venue: { name: okx, mode: sim }
  instrument: ${SWAP}
  timeframe: 1m
  agent: { provider: offline-policy, triggers: [auto_inference] }
  risk: { maxNotional: 5000, maxPositionNotional: 9000, maxDailyLoss: 100 }`,
    'delta.yaml',
  );
  await applyPlan(nats.bus, plan);
});

afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

describe('a replayed plan behind the market', () => {
  it('decides bar T on T’s forecast when T+1’s is already stored', async () => {
    // The agent's durable exists, then the agent is away while two bars' forecasts are stored.
    const first = await agentHost(nats.bus);
    await eventually(async () => Boolean(await nats.bus.jsm.consumers.info(Streams.forecasts, AgentDurables.forecasts).catch(() => null)));
    await first.stop();
    const t = forecast().asOf;
    await publishForecast(nats.bus, forecast({ asOf: t, pUp: 0.72 }), 'fc-t');
    await publishForecast(nats.bus, forecast({ asOf: t + 60_000, pUp: 0.11 }), 'fc-t1');

    host = await agentHost(nats.bus);
    const conversation = conversationIdFor('auto_inference', 'delta', 'fc-t');
    let turns: AgentTurn[] = [];
    await eventually(async () => {
      turns = (await readTurns(nats.bus, 'delta', (x) => x.conversation === conversation)).map((x) => x.turn);
      return turns.some((x) => x.record === 'ended');
    });
    const read = turns.find((x) => x.record === 'tool_result' && x.tool === 'get_forecast') as Extract<
      AgentTurn,
      { record: 'tool_result' }
    >;
    expect(read).toBeDefined();
    const got = JSON.parse(read.content) as { forecast: { pUp: number; asOf?: string | number } };
    expect(got.forecast.pUp).toBe(0.72);
  });
});
