import { type ActorContext, type ActorLogic, barOpen, defineActorKind, lastCandleMessage, parseDuration, type Plan } from '@kokex/core';
import { z } from 'zod';
import { parseFaultSpec } from './faults.js';
import { chooseReplayData, replayStart, spotInstrument } from './replay-data.js';
import { OkxSimulator, type OkxSimulatorAddress } from './simulator.js';
import { kvAccountStore, simAccountKey } from './account-store.js';
import { type LockstepControl, serveLockstep } from './lockstep.js';

/** Where the simulator listens by default; the okx adapter's sim mode looks there too. */
export const OKX_SIM_DEFAULT_PORT = 18080;
const VENUE = 'okx';

const replaySchema = z
  .object({
    /** The plan it serves (the first by name on okx in sim mode). */
    plan: z.string(),
    inst: z.string(),
    speed: z.number().positive(),
    file: z.string().optional(),
    dataDir: z.string().optional(),
    historyMs: z.number().int().nonnegative(),
  })
  .strict();

/**
 * The simulator as an actor: when an active plan trades okx in sim mode it replays that plan's data
 * at `venue.sim.speed` on `host:port`, which is where the okx adapter's sim mode connects.
 */
export const okxSimConfigSchema = z
  .object({
    /** Default 18080. */
    port: z.number().int().min(1).max(65_535).default(OKX_SIM_DEFAULT_PORT),
    /** Default 127.0.0.1. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Fault switches as `npx kokex sim` takes them (`skip=0.05,dropbars=500`). Default: KOKEX_SIM_FAULTS, else none. */
    faults: z.string().default(''),
    /** Data directory when the plan names none; default KOKEX_DATA_DIR. */
    dataDir: z.string().min(1).optional(),
    /** Intrabar updates per 1m bar. Default 4. */
    stepsPerBar: z.number().int().min(1).max(60).default(4),
    /**
     * Lockstep (`kokex backtest`): the replay starts at `startAt` and moves only when asked on
     * `kokex.ctl.okx-sim.step`. Default null: real time at the plan's speed.
     */
    lockstep: z.object({ startAt: z.number().int().nonnegative() }).strict().nullable().default(null),
    /** Derived from the plans; null when no plan needs the simulator. */
    replay: replaySchema.nullable().default(null),
  })
  .strict();
export type OkxSimConfig = z.output<typeof okxSimConfigSchema>;

/** The replay the plans ask for: the first plan by name on okx in sim mode, or none. */
export function replayFromPlans(plans: readonly Plan[]): OkxSimConfig['replay'] {
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

interface Running {
  sim: OkxSimulator;
  address: OkxSimulatorAddress;
  origin: string;
  lockstep?: LockstepControl;
  /** Set by the first stop: a second stop while it closes waits for the same one. */
  stopped?: Promise<void>;
}

/**
 * Where the replay starts: after the newest bar already stored for this instrument, so a restarted
 * `kokex up` (same store) carries on where it stopped instead of replaying the same minutes again.
 */
async function resumePoint(ctx: ActorContext<OkxSimConfig>, inst: string, fresh: number, bars: readonly { ts: number }[]): Promise<number> {
  const lastBar = bars[bars.length - 1]?.ts ?? fresh;
  for (const tf of ['1m', '1H']) {
    const stored = await lastCandleMessage(ctx.bus, { venue: VENUE, inst, tf }).catch(() => undefined);
    if (stored?.ts === undefined) continue;
    const next = barOpen(stored.ts, tf) + (tf === '1m' ? 60_000 : 3_600_000);
    if (next > fresh && next < lastBar) {
      ctx.log.info({ from: new Date(next).toISOString() }, 'okx simulator resumes after the stored candles');
      return next;
    }
  }
  return fresh;
}

export function createOkxSimLogic(ctx: ActorContext<OkxSimConfig>): ActorLogic<OkxSimConfig> {
  let config = ctx.config;
  let running: Running | undefined;
  let note = 'idle: no active plan trades okx in sim mode';
  // The environment switches faults on for a whole `kokex up` without touching any configuration.
  const faultSpec = () => config.faults || process.env.KOKEX_SIM_FAULTS || '';

  const start = async () => {
    const replay = config.replay;
    if (!replay) return;
    const data = await chooseReplayData({
      inst: replay.inst,
      file: replay.file,
      dataDir: replay.dataDir ?? config.dataDir,
      onSkip: (reason) => ctx.log.info({ reason }, 'okx simulator: passing over a data source'),
    }).catch((err: unknown) => {
      // No data is a configuration problem a plan change can fix: say so, do not crash the host.
      note = `no data: ${(err as Error).message}`;
      ctx.log.error({ err }, 'okx simulator has no data to replay');
      return undefined;
    });
    if (!data) return;
    const lockstep = config.lockstep;
    const startAt = lockstep ? lockstep.startAt : await resumePoint(ctx, replay.inst, replayStart(data.bars, replay.historyMs), data.bars);
    const sim = new OkxSimulator({
      data: data.bars,
      clock: lockstep ? 'manual' : 'realtime',
      speed: replay.speed,
      instId: spotInstrument(replay.inst),
      startAt,
      stepsPerBar: config.stepsPerBar,
      faults: parseFaultSpec(faultSpec()),
      // The venue keeps its accounts across restarts: a clean restart must not hand the plan a
      // fresh account while the risk guard's books still hold the old position.
      accountStore: kvAccountStore(ctx.bus, simAccountKey(spotInstrument(replay.inst))),
    });
    try {
      const address = await sim.start({ port: config.port, host: config.host });
      running = { sim, address, origin: data.origin, ...(lockstep ? { lockstep: serveLockstep(ctx.bus, sim, ctx.log) } : {}) };
      note = lockstep ? `in lockstep for plan ${replay.plan}` : `replaying for plan ${replay.plan}`;
      ctx.log.info(
        { url: address.restUrl, origin: data.origin, speed: replay.speed, from: new Date(sim.now()).toISOString() },
        'okx simulator up',
      );
    } catch (err) {
      await sim.stop().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      // Another replica (or `npx kokex sim`) already serves this port: one venue is enough.
      note = `port ${config.port} in use: another simulator serves it`;
      ctx.log.warn({ port: config.port }, 'okx simulator port in use; leaving it to the one there');
    }
  };

  const stop = async () => {
    const was = running;
    if (!was) return;
    was.stopped ??= (async () => {
      was.lockstep?.stop();
      await was.sim.stop();
    })();
    await was.stopped;
    // Cleared only once the port is closed: a status without a url promises nothing listens there.
    if (running === was) running = undefined;
  };

  return {
    start,
    stop,
    pause: () => running?.sim.pause(),
    resume: () => {
      if (!running?.lockstep) running?.sim.play();
    },
    async reconfigure(next) {
      const before = JSON.stringify(config);
      config = next;
      if (JSON.stringify(next) === before) return;
      await stop();
      note = 'idle: no active plan trades okx in sim mode';
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
        simTime: new Date(sim.now()).toISOString(),
        ended: sim.ended,
        bars: sim.tape.length,
        data: origin,
        faults: faultSpec() || 'none',
      };
    },
  };
}

export const okxSimActor = defineActorKind<OkxSimConfig>({
  kind: 'okx-sim',
  description: 'the OKX V5 simulator, replaying real candles for plans in sim mode',
  configSchema: okxSimConfigSchema,
  configFromPlans: (plans, base) => ({ ...base, replay: replayFromPlans(plans) }),
  // The venue of sim plans: up before the feed and the executor connect to it.
  startsFirst: true,
  create: createOkxSimLogic,
});
