import { z } from 'zod';
import { instrumentToken, timeframeToken, venueToken } from './tokens.js';
import { defineContract } from './envelope.js';

/** One OHLCV bar. `ts` is the bar's open time (Unix ms, UTC); prices in quote currency, volume in base. */
export const candleSchema = z.object({
  venue: venueToken,
  inst: instrumentToken,
  tf: timeframeToken,
  ts: z.number().int().nonnegative(),
  open: z.number().positive(),
  high: z.number().positive(),
  low: z.number().positive(),
  close: z.number().positive(),
  volume: z.number().nonnegative(),
  /** Quote-currency volume when the venue reports it. */
  volumeQuote: z.number().nonnegative().optional(),
  /** True once the bar is closed (OKX `confirm` = "1"). Only closed bars go on MD_CANDLES. */
  confirmed: z.boolean(),
  /** Local receive time (ms), kept beside the venue's time as Nautilus does. */
  receivedAt: z.number().int().nonnegative().optional(),
});
export type Candle = z.infer<typeof candleSchema>;

/** `kokex.md.candle.{venue}.{inst}.{tf}` (closed) and `kokex.md.live.…` (in progress). */
export const CandleContract = defineContract({ type: 'md.candle', version: 1, schema: candleSchema });
