import { type Bus, type Clock, type Logger, type ModelProgress, ModelProgressContract, subject } from '@kokex/core';
import type { TrainingLine } from './python.js';

/**
 * Training progress on `kokex.model.progress.{inst}.{tf}`: the Python protocol's lines mapped to
 * `model.progress` messages, published in order, with step lines thinned to one per interval
 * (validation results, stage ends and the first and last step of a stage always go).
 */

type Stage = ModelProgress['stage'];
export type ProgressUpdate = Omit<ModelProgress, 'inst' | 'tf' | 'jobId'>;

const TRAINING_STAGES = new Set<string>(['tokenizer', 'predictor']);

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function nonNegative(value: unknown): number | undefined {
  const n = num(value);
  return n === undefined ? undefined : Math.max(0, n);
}

function count(value: unknown): number | undefined {
  const n = num(value);
  return n === undefined ? undefined : Math.max(0, Math.round(n));
}

/** Drops the fields that are undefined, so the message carries only what the line said. */
function defined(update: Record<string, unknown>): ProgressUpdate {
  return Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)) as ProgressUpdate;
}

/** The progress message for one protocol line, or undefined for lines that say nothing new (`done`: the trainer reports that itself). */
export function progressFromLine(line: TrainingLine): ProgressUpdate | undefined {
  if (line.event === 'start') {
    const rows = `${line.train_rows ?? '?'} training and ${line.val_rows ?? '?'} validation rows`;
    return { stage: 'prepare', message: `training on ${String(line.device ?? 'cpu')}: ${rows}, window ${String(line.window ?? '?')} bars` };
  }
  if (!TRAINING_STAGES.has(line.stage)) return undefined;
  const stage = line.stage as Stage;
  if (line.event === 'val') {
    return defined({
      stage,
      epoch: count(line.epoch),
      step: count(line.step),
      loss: num(line.train_loss),
      valLoss: num(line.val_loss),
      message: `epoch ${String(line.epoch)} validated${line.best ? ' (best so far)' : ''}`,
    });
  }
  if (line.event === 'stage_done') {
    return defined({
      stage,
      epoch: count(line.epochs),
      step: count(line.steps),
      valLoss: num(line.best_val_loss),
      message: `${stage} done (${String(line.stopped)}) after ${String(line.epochs)} epochs`,
    });
  }
  if (line.event !== undefined) return undefined;
  return defined({
    stage,
    epoch: count(line.epoch),
    step: count(line.step),
    totalSteps: count(line.total_steps),
    loss: num(line.loss),
    rate: nonNegative(line.rate),
    etaSeconds: nonNegative(line.eta_s),
  });
}

/** Whether a step message may be thinned out (the others always go). */
function isThinnable(line: TrainingLine): boolean {
  return line.event === undefined && line.step !== 1 && line.step !== line.total_steps;
}

export interface ProgressRelayOptions {
  bus: Bus;
  clock: Clock;
  log: Logger;
  jobId: string;
  inst: string;
  tf: string;
  source: string;
  intervalMs: number;
}

/** Publishes one job's progress in order; a message that cannot be published is logged, never fatal to the job. */
export class ProgressRelay {
  readonly #o: ProgressRelayOptions;
  readonly #subject: string;
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;
  #lastStepAt = Number.NEGATIVE_INFINITY;
  readonly #totalSteps = new Map<string, number>();
  /** The newest update, for the actor's status. */
  latest: ProgressUpdate | undefined;

  constructor(options: ProgressRelayOptions) {
    this.#o = options;
    this.#subject = subject('modelProgress', { inst: options.inst, tf: options.tf });
  }

  /** Relays a protocol line (thinned: see the module comment). */
  line(line: TrainingLine): void {
    const parsed = progressFromLine(line);
    if (!parsed) return;
    // Validation and stage-end lines carry no total; the stage's step lines did.
    if (parsed.totalSteps !== undefined) this.#totalSteps.set(parsed.stage, parsed.totalSteps);
    const total = this.#totalSteps.get(parsed.stage);
    const update =
      parsed.step !== undefined && parsed.totalSteps === undefined && total !== undefined ? { ...parsed, totalSteps: total } : parsed;
    if (isThinnable(line)) {
      // Thinning is about message rate, so it runs on the wall clock even under a simulated one.
      const now = performance.now();
      if (now - this.#lastStepAt < this.#o.intervalMs) {
        this.latest = update;
        return;
      }
      this.#lastStepAt = now;
    }
    this.send(update);
  }

  send(update: ProgressUpdate): void {
    this.latest = update;
    const seq = ++this.#seq;
    const { bus, clock, log, jobId, inst, tf, source } = this.#o;
    this.#chain = this.#chain.then(() =>
      bus
        .publish(
          ModelProgressContract,
          this.#subject,
          { inst, tf, jobId, ...update },
          {
            id: `${jobId}:${seq}`,
            correlationId: jobId,
            source,
            time: clock.now(),
          },
        )
        .then(
          () => undefined,
          (err: unknown) => log.warn({ err, jobId, stage: update.stage }, 'training progress not published'),
        ),
    );
  }

  /** Resolves when every message so far has been published (or given up). */
  flush(): Promise<void> {
    return this.#chain;
  }
}

/** The card's metrics as flat numbers for `model.ready` (`predictor.best_val_loss`, `tokenizer.best.val_mse_full`, …). */
export function flattenMetrics(value: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value) && prefix) out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      // Per-epoch history would repeat the best epoch's numbers many times over.
      if (key !== 'history') flattenMetrics(inner, prefix ? `${prefix}.${key}` : key, out);
    }
  }
  return out;
}
