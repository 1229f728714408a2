import { z } from 'zod';
import { venueToken } from '../contracts/tokens.js';
import { tokenField } from './fields.js';

/**
 * Where orders go. `sim`: the local OKX simulator replaying recorded candles; `paper`: fills
 * simulated against the live candle stream; `demo`: OKX demo trading (real API, fake money);
 * `live`: real money.
 */
export const VENUE_MODES = ['sim', 'paper', 'demo', 'live'] as const;
export type VenueMode = (typeof VENUE_MODES)[number];

const simSchema = z
  .object({
    speed: z
      .number()
      .finite()
      .positive()
      .max(100_000)
      .default(60)
      .describe('Replay speed as a multiple of real time (60: one 1m bar per second).'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65_535)
      .optional()
      .describe('Port of the local simulator under `kokex up` (0: a free one). Default 18080; `--sim-port` overrides it.'),
    file: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Candle CSV to replay (ts,open,high,low,close,volume). Default: the data directory when set, else the bundled offline dataset.',
      ),
  })
  .strict()
  .describe('The OKX simulator. Used only when mode is sim.');

const paperSchema = z
  .object({
    balance: z.number().finite().positive().max(1e12).default(10_000).describe('Starting balance in the quote currency.'),
    takerFee: z.number().min(0).lt(1).default(0.0005).describe('Taker fee as a fraction of notional (0.0005 = 0.05%).'),
    makerFee: z.number().min(0).lt(1).default(0.0002).describe('Maker fee as a fraction of notional.'),
    slippage: z.number().min(0).lt(1).default(0.0001).describe('Price slippage on market fills as a fraction of price.'),
  })
  .strict()
  .describe('The paper venue. Used only when mode is paper.');

export const venueSchema = z
  .object({
    name: tokenField(venueToken, 'venue name', 'Exchange adapter plugin (a subject token).').default('okx'),
    mode: z
      .enum(VENUE_MODES)
      .describe('sim (local simulator), paper (simulated fills on live data), demo (OKX demo trading) or live (real money).'),
    sim: simSchema.default({}),
    paper: paperSchema.default({}),
  })
  .strict()
  .describe('Where market data comes from and where orders go. API keys never go in a plan: they come from the environment.');
