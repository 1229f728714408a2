import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ActorContext, type ActorLogic, defineActorKind, parseDuration, type Plan } from '@kokex/core';
import { z } from 'zod';
import { loadBars, type SimBar, syntheticBars } from './data.js';
import { parseBinanceFaultSpec } from './faults.js';
import { BinanceSimulator, type BinanceSimulatorAddress } from './simulator.js';

/** Where the simulator listens by default; the binance adapter's sim mode looks there too. */
export const BINANCE_SIM_DEFAULT_PORT = 18090;
const VENUE = 'binance';
const MIN = 60_000;
/** Synthetic bars when no data is found: four days of 1m bars from this date. */
const SYNTHETIC_START = Date.UTC(2026, 0, 5);

const replaySchema = z
  .object({
    plan: z.string(),
    inst: z.string(),
    speed: z.number().positive(),
    file: z.string().optional(),
    dataDir: z.string().optional(),
    historyMs: z.number().int().nonnegative(),
  })
  .strict();

/**
 * The simulator as an actor: when an active plan trades binance in sim mode it replays that plan's
 * candles at `venue.sim.speed` on `host:port`, where the binance adapter's sim mode connects. Data:
 * the plan's `venue.sim.file`, else a `*_<SYMBOL>_1m*.csv[.gz]` file in the data directory
 * (`data.directory`, this actor's `dataDir`, KOKEX_DATA_DIR), else a synthetic random walk (said so
 * in its status).
 */
export const binanceSimConfigSchema = z
  .object({
    port: z.number().int().min(1).max(65_535).default(BINANCE_SIM_DEFAULT_PORT),
    host: z.string().min(1).default('127.0.0.1'),
    /** Fault switches (`dup=0.05,429=0.1,unknown=0.1`). Default: KOKEX_BINANCE_SIM_FAULTS, else none. */
    faults: z.string().default(''),
    dataDir: z.string().min(1).optional(),
    /** Derived from the plans; null when no plan needs the simulator. */
    replay: replaySchema.nullable().default(null),
  })
  .strict();
export type BinanceSimConfig = z.output<typeof binanceSimConfigSchema>;

/** The replay the plans ask for: the first plan by name on binance in sim mode, or none. */
export function binanceReplayFromPlans(plans: readonly Plan[]): BinanceSimConfig['replay'] {
  const plan = plans
    .filter((p) => p.spec.venue.name === VENUE && p.spec.venue.mode === 'sim')
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
  if (!plan) return null;
  const { venue, instrument, data } = plan.spec;
  return {
    plan: plan.metadata.name,
    inst: instrument,
    speed: venue.sim.speed,
    ...(venue.sim.file ? { file: venue.sim.file } : {}),
    ...(data.directory ? { dataDir: data.directory } : {}),
    historyMs: parseDuration(data.window) ?? 0,
  };
}

/** The candles to replay and where they came from. */
export async function binanceReplayData(
  replay: NonNullable<BinanceSimConfig['replay']>,
  dataDir?: string,
): Promise<{ bars: SimBar[]; origin: string }> {
  if (replay.file) return { bars: await loadBars(replay.file), origin: replay.file };
  const dir = replay.dataDir ?? dataDir;
  if (dir) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const match = names.filter((n) => n.includes(`_${replay.inst}_1m`) && /\.csv(\.gz)?$/.test(n)).sort()[0];
    if (match) return { bars: await loadBars(join(dir, match)), origin: join(dir, match) };
  }
  const count = Math.max(2000, Math.ceil(replay.historyMs / MIN) + 2000);
  return { bars: syntheticBars({ count, start: SYNTHETIC_START }), origin: `synthetic (${count} 1m bars; no ${replay.inst} file found)` };
}

export function createBinanceSimLogic(ctx: ActorContext<BinanceSimConfig>): ActorLogic<BinanceSimConfig> {
  let config = ctx.config;
  let running: { sim: BinanceSimulator; address: BinanceSimulatorAddress; origin: string } | undefined;
  let note = 'idle: no active plan trades binance in sim mode';
  const faultSpec = () => config.faults || process.env.KOKEX_BINANCE_SIM_FAULTS || '';

  const start = async () => {
    const replay = config.replay;
    if (!replay) return;
    const data = await binanceReplayData(replay, config.dataDir ?? process.env.KOKEX_DATA_DIR).catch((err: unknown) => {
      note = `no data: ${(err as Error).message}`;
      ctx.log.error({ err }, 'binance simulator has no data to replay');
      return undefined;
    });
    if (!data) return;
    const first = data.bars[0]?.ts ?? 0;
    const last = data.bars.at(-1)?.ts ?? first;
    const sim = new BinanceSimulator({
      data: data.bars,
      startAt: Math.min(first + replay.historyMs, last - MIN),
      faults: parseBinanceFaultSpec(faultSpec()),
    });
    try {
      const address = await sim.start({ port: config.port, host: config.host });
      sim.play(replay.speed);
      running = { sim, address, origin: data.origin };
      note = `replaying for plan ${replay.plan}`;
      ctx.log.info({ url: address.restUrl, origin: data.origin, speed: replay.speed }, 'binance simulator up');
    } catch (err) {
      await sim.stop().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      note = `port ${config.port} in use: another simulator serves it`;
      ctx.log.warn({ port: config.port }, 'binance simulator port in use; leaving it to the one there');
    }
  };

  const stop = async () => {
    const was = running;
    running = undefined;
    await was?.sim.stop();
  };

  return {
    start,
    stop,
    pause: () => running?.sim.pause(),
    resume: () => running?.sim.play(config.replay?.speed ?? 1),
    async reconfigure(next) {
      const before = JSON.stringify(config);
      config = next;
      if (JSON.stringify(next) === before) return;
      await stop();
      note = 'idle: no active plan trades binance in sim mode';
      await start();
    },
    status: () => {
      if (!running) return { note, port: config.port };
      const { sim, address, origin } = running;
      return {
        note,
        url: address.restUrl,
        inst: config.replay?.inst,
        speed: config.replay?.speed,
        simTime: sim.now(),
        ended: sim.ended,
        bars: sim.bars.length,
        data: origin,
        faults: faultSpec() || 'none',
      };
    },
  };
}

export const binanceSimActor = defineActorKind<BinanceSimConfig>({
  kind: 'binance-sim',
  description: 'the Binance USDⓈ-M simulator, replaying candles for plans on binance in sim mode',
  configSchema: binanceSimConfigSchema,
  configFromPlans: (plans, base) => ({ ...base, replay: binanceReplayFromPlans(plans) }),
  // The venue of binance sim plans: up before the feed and the executor connect to it.
  startsFirst: true,
  create: createBinanceSimLogic,
});
