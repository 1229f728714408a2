import { type Bus, type Candle, CandleContract, candleMessageId, Streams, subject } from '@kokex/core';
import { CandleStoreError } from './errors.js';
import type { SeriesKey } from './types.js';

/**
 * MD_CANDLES as the candle store. Reading goes by subject (one series per subject), so it needs
 * no consumer state on the server; writing goes through the bus with `candleMessageId` ids, so a
 * bar published twice inside the stream's de-duplication window is stored once.
 */
export interface StoredCandleMessage {
  /** Stream sequence (what `deleteMessage` takes). */
  seq: number;
  /** The envelope's `data`, unchecked: a stored bar may be one the validator must quarantine. */
  data: unknown;
  /** `data.ts` when it is a number. */
  ts: number | undefined;
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

function storedData(bytes: Uint8Array): unknown {
  try {
    return (JSON.parse(decoder.decode(bytes)) as { data?: unknown }).data;
  } catch {
    return undefined;
  }
}

function tsOf(data: unknown): number | undefined {
  const ts = (data as { ts?: unknown } | undefined)?.ts;
  return typeof ts === 'number' ? ts : undefined;
}

/** The last message stored on the series' subject (by stream order, which after a backfill is not always the newest bar). */
export async function lastStoredMessage(bus: Bus, key: SeriesKey): Promise<StoredCandleMessage | undefined> {
  let stored: Awaited<ReturnType<typeof bus.jsm.streams.getMessage>>;
  try {
    stored = await bus.jsm.streams.getMessage(Streams.candles, { last_by_subj: subject('candle', key) });
  } catch (err) {
    throw new CandleStoreError(`cannot read ${Streams.candles}: ${(err as Error).message}`, { ...key }, err);
  }
  if (!stored) return undefined;
  const data = storedData(stored.data);
  return { seq: stored.seq, data, ts: tsOf(data) };
}

/** Every message of one series in stream order (oldest stored first). */
export async function readCandleMessages(bus: Bus, key: SeriesKey): Promise<StoredCandleMessage[]> {
  const last = await lastStoredMessage(bus, key);
  if (!last) return [];
  const out: StoredCandleMessage[] = [];
  try {
    // An ordered consumer: ephemeral, flow-controlled, gone when we stop reading.
    const consumer = await bus.js.consumers.get(Streams.candles, { filter_subjects: subject('candle', key) });
    for (;;) {
      const batch = await consumer.fetch({ max_messages: READ_BATCH, expires: 1000 });
      let got = 0;
      let pending = 1;
      for await (const m of batch) {
        got++;
        const data = storedData(m.data);
        out.push({ seq: m.seq, data, ts: tsOf(data) });
        pending = m.info.pending;
      }
      // Done when the last one read said nothing was left, or an idle pull came back empty.
      if (got === 0 || pending === 0) break;
    }
  } catch (err) {
    throw new CandleStoreError(`cannot read ${subject('candle', key)}: ${(err as Error).message}`, { ...key }, err);
  }
  return out;
}

/** The series' bars that decode as candles, ascending by open time (what tests and tools compare). */
export async function storedCandles(bus: Bus, key: SeriesKey): Promise<Candle[]> {
  const out: Candle[] = [];
  for (const m of await readCandleMessages(bus, key)) {
    const parsed = CandleContract.schema.safeParse(m.data);
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** Publishes closed candles to their subjects with `candleMessageId` ids, all at once, and counts what was stored. */
export async function publishCandles(
  bus: Bus,
  candles: readonly Candle[],
  meta: { source: string; time?: number },
): Promise<PublishCandlesResult> {
  const results = await Promise.all(
    candles.map((c) =>
      bus.publish(CandleContract, subject('candle', c), c, {
        id: candleMessageId(c.venue, c.inst, c.tf, c.ts),
        source: meta.source,
        ...(meta.time === undefined ? {} : { time: meta.time }),
      }),
    ),
  );
  const duplicates = results.filter((r) => r.duplicate).length;
  return { stored: results.length - duplicates, duplicates };
}
