import { timeframeToken, venueToken } from '@kokex/core';
import { z } from 'zod';

/**
 * The paper venue's configuration. The executor derives it from a paper plan: the account is the
 * plan's name, balance, fees and slippage come from `venue.paper`, the candles are the plan's
 * venue and timeframe. The bus is not configuration: the host lends the adapter its connection
 * when it creates it (`AdapterContext.bus`).
 */
const contractSchema = z
  .object({
    /** Base units per contract; 1 for spot. */
    contractValue: z.number().positive(),
    /** Size increment; 0 accepts any size. Default 0. */
    lotSize: z.number().nonnegative().default(0),
  })
  .strict();

/**
 * OKX's published contract values of its common linear swaps: only a stand-in, for a paper venue on
 * `okx` candles that was lent no instrument rules (made by hand) or cannot reach OKX. The executor
 * lends the rules of the plan's venue (`InstrumentInfo` from its exchange adapter), which decide.
 */
export const DEFAULT_CONTRACTS: Readonly<Record<string, { contractValue: number; lotSize: number }>> = {
  'BTC-USDT-SWAP': { contractValue: 0.01, lotSize: 0.01 },
  'ETH-USDT-SWAP': { contractValue: 0.1, lotSize: 0.01 },
  'SOL-USDT-SWAP': { contractValue: 1, lotSize: 0.01 },
};

export const paperConfigSchema = z
  .object({
    /** The plan's venue mode, as `adapterFor` passes it: the paper venue serves paper plans only. */
    mode: z.literal('paper').optional(),
    /** The paper account: its book is kept under `paper.{account}` in the `kokex-positions` bucket. */
    account: z.string().regex(/^[A-Za-z0-9_-]+$/),
    /** Starting cash in the quote currency. Default 10,000. */
    balance: z.number().positive().default(10_000),
    /** Fraction of notional charged on fills that take liquidity. Default 0.0005. */
    takerFee: z.number().min(0).lt(1).default(0.0005),
    /** Fraction of notional charged on resting limit fills. Default 0.0002. */
    makerFee: z.number().min(0).lt(1).default(0.0002),
    /** Price moved against market and marketable fills, as a fraction. Default 0.0001. */
    slippage: z.number().min(0).lt(1).default(0.0001),
    /** The candle series fills are made against: `kokex.md.candle.{venue}.{inst}.{tf}`. */
    candles: z.object({ venue: venueToken, tf: timeframeToken }).strict(),
    /** Contract values (and lots) by instrument, over the venue's instrument rules; spot ids (`BTC-USDT`) are 1 unless given. */
    instruments: z.record(contractSchema).default({}),
    /** Final orders kept for look-ups by client order id (idempotency). Default 1,000. */
    keepFinished: z.number().int().positive().default(1000),
    /** Quote currency name in balances. Default USDT. */
    quoteCcy: z.string().min(1).default('USDT'),
  })
  .strict();
export type PaperOptions = z.input<typeof paperConfigSchema>;
export type PaperConfig = z.output<typeof paperConfigSchema>;
