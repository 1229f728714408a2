import type { Bus } from '../bus/bus.js';
import { subject, subjectFilter } from '../bus/subjects.js';
import { Streams } from '../bus/topology.js';
import { AgentTurnContract } from '../contracts/agent.js';
import type { Contract, Envelope } from '../contracts/envelope.js';
import { type Forecast, ForecastContract } from '../contracts/forecast.js';
import { type Candle, CandleContract } from '../contracts/market.js';
import {
  type OrderEvent,
  OrderEventContract,
  type OrderIntent,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
} from '../contracts/orders.js';
import type { SeriesRef } from './settle.js';

/**
 * What a run left on the bus, read back from the streams after the last bar settled (stream order,
 * then sorted by market time and id, so the report never depends on the order messages raced in).
 */
export interface Stamped<T> {
  /** The envelope's market time. */
  eventTime: number;
  data: T;
}

export interface BacktestCollected {
  candles: Candle[];
  forecasts: Stamped<Forecast>[];
  intents: Stamped<OrderIntent>[];
  verdicts: Stamped<OrderVerdict>[];
  events: Stamped<OrderEvent>[];
  /** Conversations the agent ended, and how many of them published intents. */
  decisions: { conversations: number; withIntents: number };
  /** Each ended conversation: market time, its answer (or why it ended) and its intents' client order ids. */
  decisionList: Array<{ time: number; conversation: string; answer: string; intents: string[] }>;
}

const READ_BATCH = 1000;

async function readAll<T>(bus: Bus, stream: string, filter: string, contract: Contract<T, unknown>): Promise<Envelope<T>[]> {
  const info = await bus.jsm.streams.info(stream, { subjects_filter: filter }).catch(() => undefined);
  if (!info || info.state.messages === 0) return [];
  const out: Envelope<T>[] = [];
  const consumer = await bus.js.consumers.get(stream, { filter_subjects: filter });
  for (;;) {
    const batch = await consumer.fetch({ max_messages: READ_BATCH, expires: 1000 });
    let got = 0;
    let pending = 1;
    for await (const m of batch) {
      got++;
      pending = m.info.pending;
      try {
        out.push(contract.decode(m.data));
      } catch {
        // a message this build cannot read does not belong to the report
      }
    }
    if (got === 0 || pending === 0) break;
  }
  return out;
}

const byTime =
  <T>(key: (x: T) => string) =>
  (a: Stamped<T>, b: Stamped<T>) =>
    a.eventTime - b.eventTime || key(a.data).localeCompare(key(b.data));

export async function collectRun(bus: Bus, o: { plan: string; series: SeriesRef; from: number; to: number }): Promise<BacktestCollected> {
  const { series, plan } = o;
  const stamp = <T>(e: Envelope<T>): Stamped<T> => ({ eventTime: e.eventTime, data: e.data });
  const candles = (await readAll(bus, Streams.candles, subject('candle', series), CandleContract))
    .map((e) => e.data)
    .filter((c) => c.confirmed && c.ts >= o.from && c.ts < o.to);
  const uniqueCandles = [...new Map(candles.map((c) => [c.ts, c])).values()].sort((a, b) => a.ts - b.ts);
  const forecasts = (await readAll(bus, Streams.forecasts, subject('forecast', { inst: series.inst, tf: series.tf }), ForecastContract))
    .map(stamp)
    .sort(byTime((f) => `${f.asOf}`));
  const intents = (await readAll(bus, Streams.orders, subjectFilter('orderIntent', { plan }), OrderIntentContract))
    .map(stamp)
    .sort(byTime((i) => i.clientOrderId));
  const verdicts = (await readAll(bus, Streams.orders, subjectFilter('orderVerdict', { plan }), OrderVerdictContract))
    .map(stamp)
    .sort(byTime((v) => v.clientOrderId));
  const events = (await readAll(bus, Streams.orders, subjectFilter('orderEvent'), OrderEventContract))
    .map(stamp)
    .filter((e) => !e.data.plan || e.data.plan === plan)
    .sort(
      (a, b) =>
        a.data.venueTs - b.data.venueTs ||
        (a.data.clientOrderId ?? '').localeCompare(b.data.clientOrderId ?? '') ||
        a.data.filledSize - b.data.filledSize,
    );
  const turns = await readAll(bus, Streams.agent, subjectFilter('agentTurn', { plan }), AgentTurnContract);
  let withIntents = 0;
  const decisionList: BacktestCollected['decisionList'] = [];
  for (const t of turns) {
    if (t.data.record !== 'ended') continue;
    if (t.data.intents.length) withIntents++;
    decisionList.push({
      time: t.eventTime,
      conversation: t.data.conversation,
      answer: t.data.answer ?? t.data.reason,
      intents: [...t.data.intents],
    });
  }
  decisionList.sort((a, b) => a.time - b.time || a.conversation.localeCompare(b.conversation));
  return {
    candles: uniqueCandles,
    forecasts,
    intents,
    verdicts,
    events,
    decisions: { conversations: decisionList.length, withIntents },
    decisionList,
  };
}
