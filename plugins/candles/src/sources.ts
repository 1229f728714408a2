import type { Candle, DataSource, MarketDataAdapter, OhlcvBar, SeriesKey } from '@kokex/core';
import { BUNDLED_DATASET, loadBundledSeries } from './bundled.js';
import { loadDirectorySeries } from './directory.js';
import { DataNotFoundError } from './errors.js';
import type { CandleSource, HistoryRange } from './types.js';

/** How to open a source: the venue through its adapter, a data directory, or the bundled dataset. */
export type CandleSourceSpec = { kind: 'venue'; adapter: MarketDataAdapter } | { kind: 'directory'; dir: string } | { kind: 'bundled' };

/** Candles per page from file sources (the venue pages as its REST API does). */
const FILE_PAGE = 1000;

/**
 * The one loader: every way in yields the same thing, closed `Candle`s of the key asked for,
 * oldest first, in pages, so `kokex data pull`, the simulator and the tests share one path.
 */
export function openCandleSource(spec: CandleSourceSpec): CandleSource {
  switch (spec.kind) {
    case 'venue':
      return venueSource(spec.adapter);
    case 'directory':
      return fileSource('directory', async (key) => {
        const { bars, choice } = await loadDirectorySeries(spec.dir, key.inst, key.tf);
        const names = choice.files.map((f) => f.name).join(', ');
        return { bars, origin: choice.aggregated ? `${names} (${choice.fileTf} rolled up to ${key.tf})` : names };
      });
    case 'bundled':
      return fileSource('bundled', async (key) => ({
        bars: await loadBundledSeries(key.inst, key.tf),
        origin: `${BUNDLED_DATASET.package} (${BUNDLED_DATASET.market} 1m${key.tf === '1m' ? '' : `, rolled up to ${key.tf}`})`,
      }));
  }
}

function venueSource(adapter: MarketDataAdapter): CandleSource {
  const checkVenue = (key: SeriesKey) => {
    if (key.venue !== adapter.venue) {
      throw new DataNotFoundError(`the ${adapter.venue} adapter cannot serve venue ${key.venue}`, { venue: key.venue });
    }
  };
  return {
    kind: 'venue',
    describe: async (key) => {
      checkVenue(key);
      return `${adapter.venue} REST history`;
    },
    history(key, range = {}) {
      checkVenue(key);
      return adapter.candleHistory({ inst: key.inst, tf: key.tf, since: range.since, until: range.until });
    },
  };
}

function fileSource(kind: DataSource, load: (key: SeriesKey) => Promise<{ bars: OhlcvBar[]; origin: string }>): CandleSource {
  return {
    kind,
    describe: async (key) => (await load(key)).origin,
    async *history(key, range: HistoryRange = {}) {
      const { bars } = await load(key);
      const from = firstAtOrAfter(bars, range.since ?? Number.NEGATIVE_INFINITY);
      const to = firstAtOrAfter(bars, range.until ?? Number.POSITIVE_INFINITY);
      for (let i = from; i < to; i += FILE_PAGE) yield bars.slice(i, Math.min(to, i + FILE_PAGE)).map((b) => asCandle(b, key));
    },
  };
}

/** Index of the first bar opening at or after `ts` in ascending bars (binary search; `length` when none). */
export function firstAtOrAfter(bars: ReadonlyArray<{ ts: number }>, ts: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bars[mid] as { ts: number }).ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function asCandle(bar: OhlcvBar, key: SeriesKey): Candle {
  return { venue: key.venue, inst: key.inst, tf: key.tf, ...bar, confirmed: true };
}
