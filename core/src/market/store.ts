import type { Bus } from '../bus/bus.js';
import { candleMessageId, subject } from '../bus/subjects.js';
import { Streams } from '../bus/topology.js';
import { type Candle, CandleContract, RawCandleContract } from '../contracts/market.js';
import { KokexError } from '../errors.js';
import { barClose } from '../time/timeframe.js';
import type { SeriesKey } from './types.js';

/**
 * The two candle streams as stores. `rawCandle` (MD_RAW) holds bars as producers saw them, the
 * validator's inbox; `candle` (MD_CANDLES) holds the bars the validator accepted, its only writer.
 * Reading goes by subject (one series per subject), so it needs no consumer state on the server.
 */
export type CandleFamily = 'candle' | 'rawCandle';

/** Reading a candle stream back failed (stream missing, NATS gone): `MD_STORE`, retryable. */
export class CandleStoreError extends KokexError {
  constructor(message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super('MD_STORE', message, { data, cause, retryable: true });
  }
}

export interface StoredCandleMessage {
  /** Stream sequence (what `deleteMessage` takes). */
  seq: number;
  /** The envelope's `data`, unchecked: a stored bar may be one the validator must quarantine. */
  data: unknown;
  /** `data.ts` when it is a number. */
  ts: number | undefined;
  /** The envelope's id, when the message is one. */
  id: string | undefined;
}

export interface PublishCandlesResult {
  /** Bars the stream stored now. */
  stored: number;
  /** Bars it already held under the same message id. */
  duplicates: number;
}

const decoder = new TextDecoder();
/** Messages per pull when reading a series back. */
const READ_BATCH = 2000;
const STREAM_OF: Record<CandleFamily, string> = { candle: Streams.candles, rawCandle: Streams.raw };

function stored(seq: number, bytes: Uint8Array): StoredCandleMessage {
  let envelope: { id?: unknown; data?: unknown } | undefined;
  try {
    envelope = JSON.parse(decoder.decode(bytes)) as { id?: unknown; data?: unknown };
  } catch {
    envelope = undefined;
  }
  const data = envelope?.data;
  const ts = (data as { ts?: unknown } | undefined)?.ts;
  return { seq, data, ts: typeof ts === 'number' ? ts : undefined, id: typeof envelope?.id === 'string' ? envelope.id : undefined };
}

/**
 * The last message stored on the series' subject of `family`, through `bus.last` (by stream
 * order, which after a backfill is not always the newest bar).
 */
export async function lastCandleMessage(bus: Bus, key: SeriesKey, family: CandleFamily = 'candle'): Promise<StoredCandleMessage | undefined> {
  try {
    const last = await bus.last(subject(family, key), STREAM_OF[family]);
    return last && stored(last.seq, last.data);
  } catch (err) {
    throw new CandleStoreError(`cannot read ${STREAM_OF[family]}: ${(err as Error).message}`, { ...key }, err);
  }
}

/** Every message of one series in stream order (oldest stored first). */
export async function readCandleMessages(bus: Bus, key: SeriesKey, family: CandleFamily = 'candle'): Promise<StoredCandleMessage[]> {
  const last = await lastCandleMessage(bus, key, family);
  if (!last) return [];
  const out: StoredCandleMessage[] = [];
  try {
    // An ordered consumer: ephemeral, flow-controlled, gone when we stop reading.
    const consumer = await bus.js.consumers.get(STREAM_OF[family], { filter_subjects: subject(family, key) });
    for (;;) {
      const batch = await consumer.fetch({ max_messages: READ_BATCH, expires: 1000 });
      let got = 0;
      let pending = 1;
      for await (const m of batch) {
        got++;
        out.push(stored(m.seq, m.data));
        pending = m.info.pending;
      }
      // Done when the last one read said nothing was left, or an idle pull came back empty.
      if (got === 0 || pending === 0) break;
    }
  } catch (err) {
    throw new CandleStoreError(`cannot read ${subject(family, key)}: ${(err as Error).message}`, { ...key }, err);
  }
  return out;
}

/** The series' bars that decode as candles, ascending by open time (what tests and tools compare). */
export async function storedCandles(bus: Bus, key: SeriesKey, family: CandleFamily = 'candle'): Promise<Candle[]> {
  const out: Candle[] = [];
  for (const m of await readCandleMessages(bus, key, family)) {
    const parsed = CandleContract.schema.safeParse(m.data);
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/**
 * Publishes bars to their raw subjects (MD_RAW, the validator's inbox) with `candleMessageId` ids,
 * all at once, and counts what was stored: what a feed and `kokex data pull` do. A bar sent twice
 * inside the stream's de-duplication window is stored once. Each envelope's `eventTime` is the bar's
 * close (its market time). Nothing here checks the bars: that is the validator's one job.
 */
export async function publishRawCandles(
  bus: Bus,
  candles: readonly Candle[],
  meta: { source: string; time?: number },
): Promise<PublishCandlesResult> {
  const results = await Promise.all(
    candles.map((c) =>
      bus.publish(RawCandleContract, subject('rawCandle', c), c, {
        id: candleMessageId(c.venue, c.inst, c.tf, c.ts),
        source: meta.source,
        // A bar speaks for its close: its market time, whenever it is sent (live, caught up, pulled).
        eventTime: barClose(c.ts, c.tf),
        ...(meta.time === undefined ? {} : { time: meta.time }),
      }),
    ),
  );
  const duplicates = results.filter((r) => r.duplicate).length;
  return { stored: results.length - duplicates, duplicates };
}
