import { parseArgs } from 'node:util';
import {
  type Bus,
  type CommandDefinition,
  type CommandIo,
  connectBus,
  ErrorCode,
  errorFromWire,
  KokexError,
  type ModelProgress,
  ModelProgressContract,
  parseDuration,
  resolveNatsUrl,
  type TrainCancelReply,
  type TrainReply,
  subjectFilter,
} from '@kokex/core';
import { TrainerErrorCode, TrainerUnavailableError } from './errors.js';
import { decodeBody, encodeJson, TrainerSubjects } from './protocol.js';

const USAGE = `usage: kokex train <plan> [--wait] [--timeout 2h]
       kokex train --cancel <jobId>

  Asks a running trainer (kokex up, or kokex host --actors trainer) to retrain the plan's model now.
  Prints the job id at once; --wait follows the job as a progress bar until it is done or failed
  (exit 0 done, 1 failed). Ctrl-C stops following, not the job. --cancel stops a queued or running
  job. Progress is also on kokex.model.progress.{inst}.{tf}: npx kokex tail 'kokex.model.>'`;

const BAR_CELLS = 30;
/** How long a request waits for a trainer to answer. */
const REPLY_TIMEOUT_MS = 10_000;

class TrainUsageError extends KokexError {
  constructor(message: string) {
    super(ErrorCode.CliUsage, `${message}\n${USAGE}`);
  }
}

/** Share of the whole job done at this message: stage 1 is the first half, stage 2 the second. */
export function jobFraction(p: ModelProgress): number {
  const within = p.step !== undefined && p.totalSteps ? Math.min(1, p.step / p.totalSteps) : 0;
  switch (p.stage) {
    case 'tokenizer':
      return within / 2;
    case 'predictor':
      return 0.5 + within / 2;
    case 'export':
    case 'store':
      return 0.99;
    case 'done':
      return 1;
    default:
      return 0;
  }
}

/** One line of the bar: `[██████░░░░] 55% predictor epoch 2 step 10/40 loss 4.8812 3.1 steps/s eta 9s`. */
export function progressBar(p: ModelProgress): string {
  const fraction = jobFraction(p);
  const cells = Math.round(fraction * BAR_CELLS);
  const parts = [`[${'█'.repeat(cells)}${'░'.repeat(BAR_CELLS - cells)}]`, `${Math.round(fraction * 100)}%`.padStart(4), p.stage];
  if (p.epoch !== undefined) parts.push(`epoch ${p.epoch}`);
  if (p.step !== undefined) parts.push(`step ${p.step}${p.totalSteps ? `/${p.totalSteps}` : ''}`);
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
  if (p.valLoss !== undefined) parts.push(`val ${p.valLoss.toFixed(4)}`);
  if (p.rate !== undefined) parts.push(`${p.rate.toFixed(1)} steps/s`);
  if (p.etaSeconds !== undefined) parts.push(`eta ${Math.round(p.etaSeconds)}s`);
  if (p.message && p.step === undefined) parts.push(p.message);
  return parts.join(' ');
}

async function request<T>(bus: Bus, subject: string, body: unknown, unanswered: string): Promise<T> {
  try {
    const reply = await bus.nc.request(subject, encodeJson(body), { timeout: REPLY_TIMEOUT_MS });
    return decodeBody(reply.data) as T;
  } catch (err) {
    throw new TrainerUnavailableError(`${unanswered} (${(err as Error).message})`, err);
  }
}

/**
 * Watches every job's progress from before the request is sent (so none of the new job's messages
 * is missed), keeps them until the job id is known, then shows that job's and ends with it.
 */
function watchProgress(bus: Bus, io: CommandIo) {
  const early: ModelProgress[] = [];
  let jobId: string | undefined;
  let finish: (last: ModelProgress | undefined) => void = () => undefined;
  const show = (p: ModelProgress) => {
    if (p.stage === 'done' || p.stage === 'failed') finish(p);
    else io.progress(progressBar(p));
  };
  const sub = bus.nc.subscribe(subjectFilter('modelProgress'), {
    callback: (_err, msg) => {
      let p: ModelProgress;
      try {
        p = ModelProgressContract.decode(msg.data).data;
      } catch {
        return; // not a message this build reads: not ours to judge
      }
      if (jobId === undefined) early.push(p);
      else if (p.jobId === jobId) show(p);
    },
  });
  return {
    stop: () => sub.unsubscribe(),
    /** Resolves with the job's last message, or undefined on Ctrl-C or after the timeout. */
    follow(id: string, timeoutMs: number): Promise<ModelProgress | undefined> {
      return new Promise((resolve) => {
        const onAbort = () => finish(undefined);
        const timer = setTimeout(onAbort, timeoutMs);
        io.signal.addEventListener('abort', onAbort, { once: true });
        finish = (last) => {
          finish = () => undefined;
          clearTimeout(timer);
          io.signal.removeEventListener('abort', onAbort);
          sub.unsubscribe();
          resolve(last);
        };
        jobId = id;
        for (const p of early.splice(0)) if (p.jobId === id) show(p);
      });
    },
  };
}

async function train(bus: Bus, plan: string, wait: boolean, timeoutMs: number, io: CommandIo): Promise<number> {
  const watcher = wait ? watchProgress(bus, io) : undefined;
  let jobId: string;
  try {
    await bus.nc.flush();
    const reply = await request<TrainReply>(
      bus,
      TrainerSubjects.train,
      { plan },
      'no trainer answered; start one with `npx kokex up` or `npx kokex host --actors trainer`',
    );
    if (reply.ok) {
      jobId = reply.jobId;
      const where = reply.joined ? `already ${reply.state}` : reply.ahead ? `queued behind ${reply.ahead}` : reply.state;
      io.print(`job ${jobId}: ${reply.plan} (${reply.venue} ${reply.inst} ${reply.tf}) ${where} on ${reply.instanceId}`);
    } else if (reply.error.code === TrainerErrorCode.LeaseHeld && wait && typeof reply.error.data?.jobId === 'string') {
      jobId = reply.error.data.jobId;
      io.print(`${reply.error.message}; following that job`);
    } else throw errorFromWire(reply.error);
  } catch (err) {
    watcher?.stop();
    throw err;
  }
  if (!watcher) {
    io.print(`follow it: npx kokex tail 'kokex.model.progress.>'   cancel it: npx kokex train --cancel ${jobId}`);
    return 0;
  }
  const last = await watcher.follow(jobId, timeoutMs);
  if (!last) {
    io.print(
      io.signal.aborted
        ? `\nstopped following; job ${jobId} goes on`
        : `\ngave up waiting after ${Math.round(timeoutMs / 1000)}s; job ${jobId} goes on`,
    );
    return 1;
  }
  if (last.stage === 'done') {
    // The full bar carries the message; the empty line ends it on a terminal.
    io.progress(progressBar(last));
    io.print('');
    return 0;
  }
  io.print(`\ntraining failed: ${last.message ?? 'no reason given'}`);
  return 1;
}

async function cancel(bus: Bus, jobId: string, io: CommandIo): Promise<number> {
  const reply = await request<TrainCancelReply>(bus, TrainerSubjects.cancel, { jobId }, `no trainer has job ${jobId} (it may have ended)`);
  if (!reply.ok) throw errorFromWire(reply.error);
  io.print(`job ${jobId} cancelled (it was ${reply.was})`);
  return 0;
}

function parseTrainArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      wait: { type: 'boolean' },
      timeout: { type: 'string', default: '6h' },
      cancel: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export const trainCommand: CommandDefinition = {
  name: 'train',
  summary: 'retrain a plan now; --wait shows a progress bar',
  usage: USAGE,
  async run(args, io) {
    let parsed: ReturnType<typeof parseTrainArgs>;
    try {
      parsed = parseTrainArgs(args);
    } catch (err) {
      throw new TrainUsageError((err as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.print(USAGE);
      return 0;
    }
    const timeoutMs = parseDuration(values.timeout);
    if (timeoutMs === undefined) throw new TrainUsageError(`--timeout ${values.timeout} is not a duration such as 30m or 2h`);
    if (!values.cancel && positionals.length !== 1) throw new TrainUsageError('name one plan');
    const bus = await connectBus({ url: resolveNatsUrl(io.env).url, name: 'kokex-train', reconnect: false });
    try {
      if (values.cancel) return await cancel(bus, values.cancel, io);
      return await train(bus, positionals[0] as string, values.wait === true, timeoutMs, io);
    } finally {
      await bus.close();
    }
  },
};
