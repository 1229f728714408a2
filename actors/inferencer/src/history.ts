import { type Bus, type Candle, CandleContract, nextBarOpen, Streams } from '@kokex/core';
import { DeliverPolicy } from '@nats-io/jetstream';

/**
 * Closed candles of one series in memory, ascending by open time, bounded to `capacity` bars: the
 * forecast's lookback plus the bars needed to score the forecasts still pending. Filled from
 * MD_CANDLES at start and kept current by the durable consumer; a gap (a bar another replica took,
 * or one the validator has yet to repair) is reported so the caller can read the stream again.
 */
export type AddResult = 'appended' | 'inserted' | 'duplicate' | 'gap';

export class CandleHistory {
  #bars: Candle[] = [];

  constructor(
    readonly tf: string,
    public capacity: number,
  ) {}

  get size(): number {
    return this.#bars.length;
  }

  get last(): Candle | undefined {
    return this.#bars[this.#bars.length - 1];
  }

  add(candle: Candle): AddResult {
    const bars = this.#bars;
    const last = bars[bars.length - 1];
    let result: AddResult;
    if (!last || candle.ts > last.ts) {
      bars.push(candle);
      result = last && nextBarOpen(last.ts, this.tf) < candle.ts ? 'gap' : 'appended';
    } else {
      let lo = 0;
      let hi = bars.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((bars[mid] as Candle).ts < candle.ts) lo = mid + 1;
        else hi = mid;
      }
      if (bars[lo]?.ts === candle.ts) {
        bars[lo] = candle; // a repaired bar replaces the one we had
        return 'duplicate';
      }
      bars.splice(lo, 0, candle);
      result = 'inserted';
    }
    if (bars.length > this.capacity) bars.splice(0, bars.length - this.capacity);
    return result;
  }

  /** The newest `n` bars (fewer when the history is shorter), oldest first. */
  latest(n: number): Candle[] {
    return this.#bars.slice(Math.max(0, this.#bars.length - n));
  }

  /** Closes of the bars opening at `steps`, or undefined while any of them is missing. */
  closesAt(steps: readonly number[]): number[] | undefined {
    const byTs = new Map(this.#bars.map((b) => [b.ts, b.close]));
    const closes = steps.map((ts) => byTs.get(ts));
    return closes.every((c) => c !== undefined) ? (closes as number[]) : undefined;
  }
}

/**
 * Reads a series' closed candles from MD_CANDLES with an ordered consumer (ephemeral, gone when
 * done) and returns the newest `keep` bars by open time. `sinceMs` bounds the read to messages
 * stored after that time; when that yields fewer than `keep` bars the whole subject is read.
 */
export async function readStoredCandles(bus: Bus, subject: string, keep: number, sinceMs?: number): Promise<Candle[]> {
  const last = await bus.jsm.streams.getMessage(Streams.candles, { last_by_subj: subject }).catch(() => null);
  if (!last) return [];
  const read = async (since?: number) => {
    const bars = new Map<number, Candle>();
    const consumer = await bus.js.consumers.get(Streams.candles, {
      filter_subjects: subject,
      ...(since === undefined ? {} : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() }),
    });
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let got = 0;
      let pending = 1;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        try {
          const c = CandleContract.decode(m.data).data;
          if (c.confirmed) bars.set(c.ts, c);
        } catch {
          // A malformed message on the subject is the validator's business, not a reason to stop reading.
        }
      }
      if (got === 0 || pending === 0) break;
    }
    return [...bars.values()].sort((a, b) => a.ts - b.ts).slice(-keep);
  };
  const recent = sinceMs === undefined ? [] : await read(sinceMs);
  return recent.length >= keep ? recent : read();
}
