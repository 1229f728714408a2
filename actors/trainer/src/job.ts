import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Bus,
  Buckets,
  type Clock,
  isKokexError,
  type Logger,
  type MarketClock,
  MarketClockKind,
  type ModelRecord,
  marketNow,
  modelKey,
  toWireError,
  type WireError,
} from '@kokex/core';
import { candleCsvName, exportCandleWindow } from './candle-window.js';
import { PRESET_MODELS, type TrainerConfig, type TrainingTarget } from './config.js';
import { JobCancelledError, TrainerErrorCode } from './errors.js';
import { acquireLease, type Lease, leaseKey } from './lease.js';
import { ProgressRelay } from './progress.js';
import { checkKronosPackage, checkPython, runTraining } from './python.js';
import { publishModelReady, storeModel } from './store.js';

/**
 * One training job, start to end: lease → Python check → candle window to CSV → `python3 -m
 * kronos train … --export` → registry → `model.ready`. Progress goes to
 * `kokex.model.progress.{inst}.{tf}`; a failure ends with stage `failed` and the reason (for the
 * Python job, its stderr tail). Nothing is registered unless the whole export succeeded.
 */
export const JOB_TRIGGERS = ['schedule', 'request'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled', 'skipped'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface TrainingJobSpec {
  jobId: string;
  target: TrainingTarget;
  trigger: JobTrigger;
  /** The schedule's fire time, for scheduled jobs. */
  slot?: number;
}

export interface JobEnvironment {
  bus: Bus;
  /** Wall time: the lease, progress messages, job timings. */
  clock: Clock;
  /**
   * The plan's market time: the registration's stamps (`registeredAt`, expiry) and, in a replay,
   * the training window's end (never a bar after market now). Default: the wall clock.
   */
  marketClock?: MarketClock;
  log: Logger;
  config: TrainerConfig;
  instanceId: string;
  hostId: string;
  /** Aborted to cancel the job (drain, a cancel request); its reason becomes the failure. */
  signal: AbortSignal;
  /** Called with the relay once it exists, so status can show the latest step. */
  onRelay?(relay: ProgressRelay): void;
}

export interface JobOutcome {
  jobId: string;
  plan: string;
  inst: string;
  tf: string;
  trigger: JobTrigger;
  state: Extract<JobState, 'done' | 'failed' | 'cancelled' | 'skipped'>;
  startedAt: number;
  endedAt: number;
  /** The registered version (done). */
  version?: string;
  /** Why the job was skipped. */
  reason?: string;
  error?: WireError;
}

/** `python3 -m kronos train` arguments for a target (after `train`). */
export function trainArguments(
  target: TrainingTarget,
  settings: TrainerConfig['training'],
  paths: { csv: string; run: string; export: string },
): string[] {
  const lookback = settings.lookback ?? target.lookback;
  const horizon = settings.horizon ?? target.horizon;
  const args = [
    ['--csv', paths.csv],
    ['--out', paths.run],
    ['--export', paths.export],
    ['--model', PRESET_MODELS[target.preset].model],
    ['--lookback', lookback],
    ['--horizon', horizon],
    ['--holdout-frac', target.validationFraction],
    ['--tokenizer-epochs', settings.epochs ?? target.tokenizerEpochs],
    ['--predictor-epochs', settings.epochs ?? target.predictorEpochs],
    ['--patience', target.patience],
    ['--seed', target.seed],
    ['--device', target.device],
    ['--steps-per-epoch', settings.stepsPerEpoch],
    ['--batch-size', settings.batchSize],
    ['--val-windows', settings.valWindows],
    ...(settings.threads ? [['--threads', settings.threads]] : []),
    ...(settings.maxMinutes ? [['--max-minutes', settings.maxMinutes]] : []),
  ].flatMap(([flag, value]) => [String(flag), String(value)]);
  return [...args, ...settings.extraArgs];
}

/** When the registry already holds a model registered at or after the slot, another replica ran this slot. */
async function slotAlreadyTrained(bus: Bus, target: TrainingTarget, slot: number): Promise<boolean> {
  const kv = await bus.kv(Buckets.models);
  const entry = await kv.get(modelKey(target.name, target.inst, target.tf));
  if (entry?.operation !== 'PUT' || entry.length === 0) return false;
  return entry.json<ModelRecord>().registeredAt >= slot;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason;
}

/** Why an aborted job stopped, as the error its `failed` message and outcome carry. */
function cancellation(jobSignal: AbortSignal, lease: Lease, jobId: string): unknown {
  if (lease.lost.aborted)
    return new JobCancelledError(jobId, `lost the lease (${String((lease.lost.reason as Error)?.message ?? lease.lost.reason)})`);
  if (isKokexError(jobSignal.reason)) return jobSignal.reason;
  return new JobCancelledError(jobId, 'the trainer is stopping');
}

export async function runTrainingJob(env: JobEnvironment, spec: TrainingJobSpec): Promise<JobOutcome> {
  const { bus, clock, config, log } = env;
  const { target, jobId } = spec;
  const startedAt = clock.now();
  const base = { jobId, plan: target.plan, inst: target.inst, tf: target.tf, trigger: spec.trigger, startedAt };
  const skip = (reason: string): JobOutcome => {
    log.info({ jobId, plan: target.plan, reason }, 'training skipped');
    return { ...base, state: 'skipped', reason, endedAt: clock.now() };
  };
  if (spec.trigger === 'schedule' && spec.slot !== undefined && (await slotAlreadyTrained(bus, target, spec.slot))) {
    return skip('a model was registered for this slot already (another replica trained it)');
  }
  let lease: Lease;
  try {
    lease = await acquireLease(bus, leaseKey(target.inst, target.tf), {
      jobId,
      instanceId: env.instanceId,
      hostId: env.hostId,
      plan: target.plan,
      since: clock.now(),
    });
  } catch (err) {
    // A scheduled run that finds another replica at work is that replica's run, not a failure.
    if (spec.trigger === 'schedule' && isKokexError(err) && err.code === TrainerErrorCode.LeaseHeld) return skip(err.message);
    throw err;
  }
  const relay = new ProgressRelay({
    bus,
    clock,
    log,
    jobId,
    inst: target.inst,
    tf: target.tf,
    source: env.instanceId,
    intervalMs: config.progressIntervalMs,
  });
  env.onRelay?.(relay);
  const signal = AbortSignal.any([env.signal, lease.lost]);
  let workDir: string | undefined;
  try {
    relay.send({ stage: 'prepare', message: `job ${jobId} for plan ${target.plan}: checking ${config.python}` });
    await checkPython(config.python);
    await checkKronosPackage(config.kronosDir);
    throwIfAborted(signal);
    await mkdir(config.workDir, { recursive: true });
    workDir = await mkdtemp(join(config.workDir, `${target.inst}-${target.tf}-`));
    const paths = {
      csv: join(workDir, candleCsvName(target.venue, target.inst, target.tf)),
      run: join(workDir, 'run'),
      export: join(workDir, 'export'),
    };
    // Live, the newest stored bar is now; in a replay the store may already hold bars after the
    // plan's market time (the validator runs ahead): the window ends at market now, never later.
    const marketTime = env.marketClock?.kind === MarketClockKind.event ? env.marketClock.now() : undefined;
    const window = await exportCandleWindow(bus, paths.csv, {
      venue: target.venue,
      inst: target.inst,
      tf: target.tf,
      windowMs: target.windowMs,
      ...(marketTime === undefined ? {} : { end: marketTime }),
      signal,
    });
    throwIfAborted(signal);
    const span = `${new Date(window.first ?? window.start).toISOString()} … ${new Date(window.last ?? window.end).toISOString()}`;
    relay.send({ stage: 'prepare', message: `${window.rows} bars from ${window.subject} (${span})` });
    await runTraining({
      python: config.python,
      cwd: config.kronosDir,
      args: trainArguments(target, config.training, paths),
      signal,
      killGraceMs: config.killGraceMs,
      onLine: (line) => {
        relay.line(line);
        if (line.stage === 'predictor' && line.event === 'stage_done')
          relay.send({ stage: 'export', message: 'exporting ONNX graphs and card' });
      },
    });
    throwIfAborted(signal);
    // From here the job is short and not cancellable: stopping halfway is what must not happen.
    relay.send({ stage: 'store', message: `storing ${target.name} in the object store and the registry` });
    const stored = await storeModel(bus, paths.export, {
      name: target.name,
      inst: target.inst,
      tf: target.tf,
      maxAgeMs: target.maxAgeMs,
      now: env.marketClock ? marketNow(env.marketClock, clock.now()) : clock.now(),
    });
    const { record } = stored;
    await publishModelReady(bus, record, { jobId, source: env.instanceId, time: clock.now() });
    relay.send({
      stage: 'done',
      message: `${stored.isNew ? 'registered' : 'unchanged (already registered)'} ${record.name} ${record.version.slice(0, 12)} for ${record.inst} ${record.tf}, serving until ${new Date(record.expiresAt).toISOString()}`,
    });
    log.info({ jobId, plan: target.plan, version: record.version, isNew: stored.isNew }, 'model trained');
    return { ...base, state: 'done', version: record.version, endedAt: clock.now() };
  } catch (caught) {
    const err = signal.aborted ? cancellation(env.signal, lease, jobId) : caught;
    const wire = toWireError(err);
    relay.send({ stage: 'failed', message: `${wire.code}: ${wire.message}` });
    const cancelled = signal.aborted || wire.code === TrainerErrorCode.JobCancelled;
    log[cancelled ? 'warn' : 'error']({ err, jobId, plan: target.plan }, cancelled ? 'training cancelled' : 'training failed');
    return { ...base, state: cancelled ? 'cancelled' : 'failed', error: wire, endedAt: clock.now() };
  } finally {
    await relay.flush();
    await lease.release();
    if (workDir && !config.keepWorkDir) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
