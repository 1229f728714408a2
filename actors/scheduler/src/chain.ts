import { assign, fromPromise, setup } from 'xstate';
import { CHAIN_STAGES, type ChainStage, type StageState } from '@kokex/core';
import { SchedulerErrorCode } from './errors.js';

/**
 * One run of a job: train → infer → decide → execute, starting where the job says, as a machine
 * (plain data; the stage work is supplied with `provide`). A stage that fails ends the run and the
 * stages after it are skipped; decide and execute are skipped for plans whose agent does not take
 * scheduled decisions.
 */
export interface ChainInput {
  from: 'train' | 'infer' | 'decide';
  decide: boolean;
}

export interface ChainContext extends ChainInput {
  stages: Record<ChainStage, StageState>;
  details: Partial<Record<ChainStage, Record<string, unknown>>>;
  error?: { stage: ChainStage; code: string; message: string };
}

/** What each stage does; it gets the run so far (earlier stages' details) and resolves with its own. */
const stage = fromPromise<Record<string, unknown>, ChainContext>(async () => ({}));

function initialStages({ from, decide }: ChainInput): Record<ChainStage, StageState> {
  const start = CHAIN_STAGES.indexOf(from);
  const entries = CHAIN_STAGES.map(
    (s, i) => [s, i < start || (!decide && (s === 'decide' || s === 'execute')) ? 'skipped' : 'pending'] as const,
  );
  return Object.fromEntries(entries) as Record<ChainStage, StageState>;
}

const wireError = (error: unknown) => ({
  code: typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : SchedulerErrorCode.Internal,
  message: String((error as Error)?.message ?? error),
});

type StageParams = { stage: ChainStage };

export const chainMachine = setup({
  types: { input: {} as ChainInput, context: {} as ChainContext },
  actors: { train: stage, infer: stage, decide: stage, execute: stage },
  actions: {
    markRunning: assign(({ context }, { stage: name }: StageParams) => ({ stages: { ...context.stages, [name]: 'running' } })),
    markDone: assign(({ context, event }, { stage: name }: StageParams) => ({
      stages: { ...context.stages, [name]: 'done' },
      details: { ...context.details, [name]: (event as { output?: Record<string, unknown> }).output ?? {} },
    })),
    markFailed: assign(({ context, event }, { stage: name }: StageParams) => ({
      stages: { ...context.stages, [name]: 'failed' },
      error: { stage: name, ...wireError((event as { error?: unknown }).error) },
    })),
    skipRest: assign(({ context }) => ({
      stages: Object.fromEntries(CHAIN_STAGES.map((s) => [s, context.stages[s] === 'pending' ? 'skipped' : context.stages[s]])) as Record<
        ChainStage,
        StageState
      >,
    })),
  },
  guards: {
    fromTrain: ({ context }) => context.from === 'train',
    fromInfer: ({ context }) => context.from === 'infer',
    decides: ({ context }) => context.decide,
  },
}).createMachine({
  id: 'chain',
  context: ({ input }) => ({ ...input, stages: initialStages(input), details: {} }),
  initial: 'starting',
  states: {
    starting: {
      always: [
        { guard: 'fromTrain', target: 'train' },
        { guard: 'fromInfer', target: 'infer' },
        { guard: 'decides', target: 'decide' },
        { target: 'done' },
      ],
    },
    train: {
      entry: { type: 'markRunning', params: { stage: 'train' } },
      invoke: {
        src: 'train',
        input: ({ context }) => context,
        onDone: { target: 'infer', actions: { type: 'markDone', params: { stage: 'train' } } },
        onError: { target: 'failed', actions: { type: 'markFailed', params: { stage: 'train' } } },
      },
    },
    infer: {
      entry: { type: 'markRunning', params: { stage: 'infer' } },
      invoke: {
        src: 'infer',
        input: ({ context }) => context,
        onDone: [
          { guard: 'decides', target: 'decide', actions: { type: 'markDone', params: { stage: 'infer' } } },
          { target: 'done', actions: { type: 'markDone', params: { stage: 'infer' } } },
        ],
        onError: { target: 'failed', actions: { type: 'markFailed', params: { stage: 'infer' } } },
      },
    },
    decide: {
      entry: { type: 'markRunning', params: { stage: 'decide' } },
      invoke: {
        src: 'decide',
        input: ({ context }) => context,
        onDone: { target: 'execute', actions: { type: 'markDone', params: { stage: 'decide' } } },
        onError: { target: 'failed', actions: { type: 'markFailed', params: { stage: 'decide' } } },
      },
    },
    execute: {
      entry: { type: 'markRunning', params: { stage: 'execute' } },
      invoke: {
        src: 'execute',
        input: ({ context }) => context,
        onDone: { target: 'done', actions: { type: 'markDone', params: { stage: 'execute' } } },
        onError: { target: 'failed', actions: { type: 'markFailed', params: { stage: 'execute' } } },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final', entry: 'skipRest' },
  },
});
