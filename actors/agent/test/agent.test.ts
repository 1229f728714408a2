import { PassThrough } from 'node:stream';
import {
  type ActorHost,
  AgentTokenContract,
  type AgentTurn,
  applyPlan,
  barClose,
  CandleContract,
  type Envelope,
  type OrderIntent,
  OrderEventContract,
  OrderIntentContract,
  ScheduledDecisionContract,
  Streams,
  subject,
} from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentDurables, conversationIdFor, conversationsCommand, createChatCommand, readTurns, summarize } from '../src/index.js';
import { agentHost, agentPlan, forecast, publishForecast, SWAP } from './support.js';

/**
 * The agent on a real nats-server with the offline rule policy as its model: a forecast starts a
 * conversation that publishes an intent correlated with the forecast, every step is recorded, and
 * the chat and conversations commands work over the bus.
 */
let nats: TestNats;
let host: ActorHost;

async function intentsOf(plan: string): Promise<Array<Envelope<OrderIntent>>> {
  const out: Array<Envelope<OrderIntent>> = [];
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams
      .getMessage(Streams.orders, { next_by_subj: `kokex.order.intent.${plan}.*`, seq } as never)
      .catch(() => null);
    if (!msg) return out;
    out.push(OrderIntentContract.decode(msg.data));
    seq = msg.seq + 1;
  }
}

function io(lines: string[]) {
  return {
    print: (l: string) => lines.push(l),
    progress: (l: string) => lines.push(l),
    signal: new AbortController().signal,
    env: { NATS_URL: nats.url },
  };
}

beforeAll(async () => {
  nats = await startTestNats();
  await applyPlan(nats.bus, agentPlan('alpha'));
  await applyPlan(nats.bus, agentPlan('beta', "triggers: [kline_event, order_event, scheduled_decision], schedule: '1h'"));
  await applyPlan(nats.bus, agentPlan('gamma', "triggers: [scheduled_decision], schedule: '1h'"));
  host = await agentHost(nats.bus);
  for (const [stream, durable] of [
    [Streams.forecasts, AgentDurables.forecasts],
    [Streams.candles, AgentDurables.candles],
    [Streams.orders, AgentDurables.orderEvents],
    [Streams.clock, AgentDurables.decisions],
  ] as const) {
    await eventually(async () => Boolean(await nats.bus.jsm.consumers.info(stream, durable).catch(() => null)));
  }
});

afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

describe('agent on a real bus with the offline policy', () => {
  it('turns a tradeable forecast into one intent carrying the forecast correlation id, and records every step', async () => {
    const conversation = conversationIdFor('auto_inference', 'alpha', 'fc-1');
    const tokens: string[] = [];
    const sub = nats.bus.nc.subscribe(`kokex.agent.token.alpha.${conversation}`, {
      callback: (_e, m) => {
        tokens.push(AgentTokenContract.decode(m.data).data.text);
      },
    });
    await nats.bus.nc.flush();
    await publishForecast(nats.bus, forecast({ pUp: 0.72 }), 'fc-1');

    await eventually(async () => (await intentsOf('alpha')).length === 1);
    const [intent] = await intentsOf('alpha');
    expect(intent?.correlationId).toBe('corr-fc-1');
    expect(intent?.causationId).toBe('fc-1');
    expect(intent?.data).toMatchObject({ plan: 'alpha', venue: 'okx', inst: SWAP, side: 'buy', type: 'market', reduceOnly: false });
    expect(intent?.data.origin).toMatchObject({ kind: 'agent', who: conversation });
    expect(intent?.data.clientOrderId).toMatch(/^ag[0-9a-f]{30}$/);
    expect(intent?.id).toBe(`intent:${intent?.data.clientOrderId}`);
    // It names the forecast it acted on, as a typed basis: the forecast's message id, series and bar.
    expect(intent?.data.basis).toEqual({ kind: 'forecast', id: 'fc-1', inst: SWAP, tf: '1m', asOf: forecast().asOf });

    let turns: AgentTurn[] = [];
    await eventually(async () => {
      turns = (await readTurns(nats.bus, 'alpha', (t) => t.conversation === conversation)).map((t) => t.turn);
      return turns.some((t) => t.record === 'ended');
    });
    expect(turns.map((t) => t.record)).toEqual([
      'started',
      'message',
      'message',
      'tool_call',
      'tool_result',
      'message',
      'tool_call',
      'tool_result',
      'message',
      'tool_call',
      'tool_result',
      'message',
      'ended',
    ]);
    const started = turns[0] as Extract<AgentTurn, { record: 'started' }>;
    expect(started.system).toContain('IS tradeable');
    expect(started.system).toContain(SWAP);
    expect(started.cause).toMatchObject({ id: 'fc-1', type: 'forecast' });
    // The prompt's "now" is the market time the forecast spoke for (its bar's close), not the host's clock.
    const close = barClose(forecast().asOf, '1m');
    expect(started.system).toContain(new Date(close).toISOString());
    expect(intent?.eventTime).toBe(close);
    expect(turns.filter((t) => t.record === 'tool_call').map((t) => (t as { tool: string }).tool)).toEqual([
      'get_forecast',
      'get_positions',
      'place_order',
    ]);
    const placed = turns.find((t) => t.record === 'tool_result' && t.tool === 'place_order') as Extract<
      AgentTurn,
      { record: 'tool_result' }
    >;
    expect(placed.intent?.clientOrderId).toBe(intent?.data.clientOrderId);
    const ended = turns.at(-1) as Extract<AgentTurn, { record: 'ended' }>;
    expect(ended).toMatchObject({ reason: 'answered', turns: 4, toolCalls: 3, intents: [intent?.data.clientOrderId] });
    await eventually(() => tokens.join('').includes('Order intent buy'));
    sub.unsubscribe();
  });

  it('answers without an intent when the forecast is not tradeable', async () => {
    await publishForecast(nats.bus, forecast({ pUp: 0.9, tradeable: false, asOf: 1_700_000_060_000 }), 'fc-2');
    const conversation = conversationIdFor('auto_inference', 'alpha', 'fc-2');
    let turns: AgentTurn[] = [];
    await eventually(async () => {
      turns = (await readTurns(nats.bus, 'alpha', (t) => t.conversation === conversation)).map((t) => t.turn);
      return turns.some((t) => t.record === 'ended');
    });
    const ended = turns.at(-1) as Extract<AgentTurn, { record: 'ended' }>;
    expect(ended.reason).toBe('answered');
    expect(ended.intents).toEqual([]);
    expect(ended.answer).toMatch(/not tradeable/i);
    expect((turns[0] as Extract<AgentTurn, { record: 'started' }>).system).toContain('is NOT tradeable');
    expect(await intentsOf('alpha')).toHaveLength(1);
  });

  it('chats through the command with piped stdin, streaming the answer, and replays the conversation', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const written: string[] = [];
    stdout.on('data', (d) => written.push(String(d)));
    const printed: string[] = [];
    stdin.end('what should we do?\n');
    const code = await createChatCommand({ stdin, stdout }).run(['alpha', '--conversation', 'chat-test-1'], io(printed));
    expect(code).toBe(0);
    const streamed = written.join('');
    // Tool activity and the answer arrive as tokens, before the command prints its summary line.
    expect(streamed).toContain('· get_forecast');
    expect(streamed).toMatch(/No trade: .*P\(up\) 0\.9/);
    expect(written.length).toBeGreaterThan(5);
    expect(printed.at(-1)).toMatch(/^\[answered · 3 turn\(s\) · 2 tool call\(s\)\]$/);

    const listed: string[] = [];
    expect(await conversationsCommand.run(['alpha'], io(listed))).toBe(0);
    expect(listed.some((l) => l.startsWith('chat-test-1') && l.includes('manual_chat'))).toBe(true);
    expect(listed.filter((l) => l.includes('auto_inference'))).toHaveLength(2);

    const replay: string[] = [];
    expect(await conversationsCommand.run(['alpha', '--id', 'chat-test-1'], io(replay))).toBe(0);
    expect(replay[0]).toMatch(/manual_chat · offline-policy/);
    expect(replay).toContain('user: what should we do?');
    expect(replay.some((l) => l.startsWith('  → get_forecast'))).toBe(true);
    expect(replay.at(-1)).toMatch(/^── ended: answered/);

    await expect(conversationsCommand.run(['alpha', '--id', 'nope'], io([]))).rejects.toMatchObject({
      code: 'AGENT_CONVERSATION_NOT_FOUND',
    });
  });

  it('starts conversations on a closed candle, an order event of the plan and a scheduled decision', async () => {
    const candle = {
      venue: 'okx',
      inst: SWAP,
      tf: '1m',
      ts: 1_700_000_000_000,
      open: 1,
      high: 2,
      low: 1,
      close: 2,
      volume: 3,
      confirmed: true,
    };
    await nats.bus.publish(CandleContract, subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }), candle, { id: 'k-1' });
    const event = {
      venue: 'paper',
      inst: SWAP,
      plan: 'beta',
      clientOrderId: 'o1',
      kind: 'filled' as const,
      side: 'buy' as const,
      size: 1,
      filledSize: 1,
      venueTs: 1,
      receivedAt: 1,
      fill: { price: 2, size: 1, fee: 0 },
    };
    await nats.bus.publish(OrderEventContract, subject('orderEvent', { venue: 'paper', inst: SWAP }), event, { id: 'e-1' });
    await nats.bus.publish(
      OrderEventContract,
      subject('orderEvent', { venue: 'paper', inst: SWAP }),
      { ...event, plan: 'other', clientOrderId: 'o2' },
      { id: 'e-2' },
    );
    await nats.bus.publish(
      ScheduledDecisionContract,
      'kokex.clock.decide.beta',
      { plan: 'beta', inst: SWAP, tf: '1m', job: 'decide', at: 1, runId: 'run-1' },
      { id: 's-1', correlationId: 'run-1' },
    );
    const expected = [
      conversationIdFor('kline_event', 'beta', 'k-1'),
      conversationIdFor('order_event', 'beta', 'e-1'),
      conversationIdFor('scheduled_decision', 'beta', 's-1'),
    ];
    let summaries: ReturnType<typeof summarize> = [];
    await eventually(async () => {
      summaries = summarize(await readTurns(nats.bus, 'beta')).filter((c) => c.reason);
      return summaries.length >= 3;
    });
    expect(summaries.map((c) => c.conversation).sort()).toEqual([...expected].sort());
    expect(summaries.map((c) => c.trigger).sort()).toEqual(['kline_event', 'order_event', 'scheduled_decision']);
    expect(summaries.find((c) => c.trigger === 'order_event')?.correlationId).toBe('e-1');
    expect(summaries.find((c) => c.trigger === 'scheduled_decision')?.correlationId).toBe('run-1');
  });

  it('keeps the forecast a scheduled decision carried, not the newest one, in its prompt and its intents', async () => {
    const carried = forecast({ pUp: 0.71, asOf: 1_700_000_120_000 });
    const newer = forecast({ pUp: 0.93, asOf: 1_700_000_180_000 });
    await publishForecast(nats.bus, carried, 'sd-carried');
    await publishForecast(nats.bus, newer, 'sd-newer');
    await nats.bus.publish(
      ScheduledDecisionContract,
      'kokex.clock.decide.gamma',
      { plan: 'gamma', inst: SWAP, tf: '1m', job: 'decide', at: 2, runId: 'run-2', forecast: { id: 'sd-carried', asOf: carried.asOf } },
      { id: 's-2', correlationId: 'run-2' },
    );
    const conversation = conversationIdFor('scheduled_decision', 'gamma', 's-2');
    let turns: AgentTurn[] = [];
    await eventually(async () => {
      turns = (await readTurns(nats.bus, 'gamma', (t) => t.conversation === conversation)).map((t) => t.turn);
      return turns.some((t) => t.record === 'ended');
    });
    const started = turns[0] as Extract<AgentTurn, { record: 'started' }>;
    expect(started.system).toContain('0.71');
    expect(started.system).not.toContain('0.93');
    // The policy reads get_forecast (the newest, P(up) 0.93) and buys; the intent still names the carried forecast.
    let placed: Envelope<OrderIntent> | undefined;
    await eventually(async () => {
      placed = (await intentsOf('gamma')).find((i) => i.correlationId === 'run-2');
      return placed !== undefined;
    });
    expect(placed?.data.basis).toEqual({ kind: 'forecast', id: 'sd-carried', inst: SWAP, tf: '1m', asOf: carried.asOf });
  });
});
