import { z } from 'zod';
import { DEFAULT_LIMITS } from './model.js';

/**
 * The dashboard actor's settings (host config `dashboard: {...}`). Each field is optional:
 * - `host`: the address to bind. Default 127.0.0.1 (the page controls trading: keep it local).
 * - `port`: default `KOKEX_DASHBOARD_PORT`, else 8787 (a busy 8787 falls back to a free port);
 *   0 asks for a free port.
 * - `token`: the control token. Default `KOKEX_DASHBOARD_TOKEN`, else the one saved in
 *   `$KOKEX_HOME/dashboard.token`, else a new one, saved there and logged once.
 * - `webDir`: the built web app. Default the package's `dist-web` (built on first start if missing).
 * - `historyMs`: how far back the streams are read at start. Default 2 days.
 * - `keep`: how much the model holds (bars per series, forecasts per series, conversations, orders).
 * - `adapters`: venue adapter settings, only to learn contract values (OKX ctVal) for PnL.
 * - `backtestsDir`: where the backtests view finds `kokex backtest` reports. Default
 *   `KOKEX_BACKTESTS_DIR`, else `backtests`, resolved from the working directory.
 */
export const DEFAULT_DASHBOARD_PORT = 8787;

export const dashboardConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).optional(),
    token: z.string().min(12).optional(),
    webDir: z.string().optional(),
    historyMs: z
      .number()
      .int()
      .positive()
      .default(2 * 24 * 3_600_000),
    keep: z
      .object({
        bars: z.number().int().positive().default(DEFAULT_LIMITS.bars),
        forecasts: z.number().int().positive().default(DEFAULT_LIMITS.forecasts),
        conversations: z.number().int().positive().default(DEFAULT_LIMITS.conversations),
        orders: z.number().int().positive().default(DEFAULT_LIMITS.orders),
        audit: z.number().int().positive().default(DEFAULT_LIMITS.audit),
        tokensPerConversation: z.number().int().positive().default(DEFAULT_LIMITS.tokensPerConversation),
      })
      .strict()
      .default({}),
    adapters: z.record(z.record(z.unknown())).default({}),
    backtestsDir: z.string().min(1).optional(),
  })
  .strict();
export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
export type DashboardOptions = z.input<typeof dashboardConfigSchema>;

/** The port to bind and whether it was asked for (an explicit port that is busy is an error). */
export function portOf(config: DashboardConfig, env: NodeJS.ProcessEnv = process.env): { port: number; explicit: boolean } {
  if (config.port !== undefined) return { port: config.port, explicit: true };
  const fromEnv = env.KOKEX_DASHBOARD_PORT;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 65_535)
      throw new Error(`KOKEX_DASHBOARD_PORT=${fromEnv} is not a port (0-65535; 0 = a free one)`);
    return { port: n, explicit: true };
  }
  return { port: DEFAULT_DASHBOARD_PORT, explicit: false };
}
