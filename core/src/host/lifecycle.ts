import { assign, fromPromise, setup } from 'xstate';
import { toWireError, type WireError } from '../errors.js';

/**
 * The lifecycle of every actor instance, as plain data (no I/O here): the host supplies the
 * effects (`startWork`, `drainWork`, `haltWork`, `pauseWork`, `resumeWork`) with `.provide()`.
 *
 *   starting → running ⇄ paused → draining → stopped
 *   any working state → failed → restarting (exponential backoff) → starting … → gaveUp
 *
 * Failure is a state, not an exception: the snapshot says `failed` with the error, and the
 * restart count resets once the actor has run for `stableAfterMs` without failing.
 */
export interface LifecycleOptions {
  /** Restarts allowed before giving up. Default: 5. */
  maxRestarts?: number;
  /** First restart delay; doubles each attempt. Default: 500 ms. */
  backoffBaseMs?: number;
  /** Cap on the restart delay. Default: 30 s. */
  backoffMaxMs?: number;
  /** Running this long without a fault forgives earlier failures. Default: 60 s. */
  stableAfterMs?: number;
}

export interface LifecycleContext {
  attempts: number;
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  stableAfterMs: number;
  lastError: WireError | undefined;
}

export type LifecycleEvent =
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'DRAIN' }
  | { type: 'STOP' }
  | { type: 'FAULT'; error: unknown }
  | { type: 'RESTART' };

export const LifecycleState = {
  starting: 'starting',
  running: 'running',
  paused: 'paused',
  draining: 'draining',
  stopping: 'stopping',
  stopped: 'stopped',
  failed: 'failed',
  restarting: 'restarting',
  gaveUp: 'gaveUp',
} as const;
export type LifecycleState = (typeof LifecycleState)[keyof typeof LifecycleState];

export function restartDelay(ctx: Pick<LifecycleContext, 'attempts' | 'backoffBaseMs' | 'backoffMaxMs'>): number {
  return Math.min(ctx.backoffBaseMs * 2 ** Math.max(0, ctx.attempts - 1), ctx.backoffMaxMs);
}

const notProvided = (name: string) =>
  fromPromise<void>(async () => {
    throw new Error(`lifecycle effect ${name} was not provided`);
  });

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as LifecycleOptions,
  },
  actors: {
    startWork: notProvided('startWork'),
    drainWork: notProvided('drainWork'),
    haltWork: notProvided('haltWork'),
  },
  actions: {
    pauseWork: () => {},
    resumeWork: () => {},
    recordError: assign({
      lastError: ({ event }) => {
        const e = event as { error?: unknown };
        return toWireError(e.error);
      },
    }),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
    forgiveFailures: assign({ attempts: 0 }),
  },
  guards: {
    mayRestart: ({ context }) => context.attempts < context.maxRestarts,
  },
  delays: {
    restartBackoff: ({ context }) => restartDelay(context),
    stable: ({ context }) => context.stableAfterMs,
  },
}).createMachine({
  id: 'actorLifecycle',
  initial: 'starting',
  context: ({ input }) => ({
    attempts: 0,
    maxRestarts: input.maxRestarts ?? 5,
    backoffBaseMs: input.backoffBaseMs ?? 500,
    backoffMaxMs: input.backoffMaxMs ?? 30_000,
    stableAfterMs: input.stableAfterMs ?? 60_000,
    lastError: undefined,
  }),
  states: {
    starting: {
      invoke: {
        src: 'startWork',
        onDone: 'running',
        onError: { target: 'failed', actions: 'recordError' },
      },
      // A consumer can deliver (and a handler fail) before start has fully returned.
      on: { FAULT: { target: 'failed', actions: 'recordError' } },
    },
    running: {
      after: { stable: { actions: 'forgiveFailures' } },
      on: {
        PAUSE: { target: 'paused', actions: 'pauseWork' },
        DRAIN: 'draining',
        STOP: 'stopping',
        FAULT: { target: 'failed', actions: 'recordError' },
      },
    },
    paused: {
      on: {
        RESUME: { target: 'running', actions: 'resumeWork' },
        DRAIN: 'draining',
        STOP: 'stopping',
        FAULT: { target: 'failed', actions: 'recordError' },
      },
    },
    draining: {
      invoke: {
        src: 'drainWork',
        onDone: 'stopped',
        onError: { target: 'stopped', actions: 'recordError' },
      },
    },
    stopping: {
      invoke: {
        src: 'haltWork',
        onDone: 'stopped',
        onError: { target: 'stopped', actions: 'recordError' },
      },
    },
    failed: {
      // Release what the failed run held before deciding whether to try again.
      invoke: {
        src: 'haltWork',
        onDone: [{ guard: 'mayRestart', target: 'restarting' }, { target: 'gaveUp' }],
        onError: [{ guard: 'mayRestart', target: 'restarting' }, { target: 'gaveUp' }],
      },
    },
    restarting: {
      entry: 'countAttempt',
      after: { restartBackoff: 'starting' },
      on: { STOP: 'stopped', DRAIN: 'stopped' },
    },
    gaveUp: {
      on: {
        RESTART: { target: 'starting', actions: 'forgiveFailures' },
        STOP: 'stopped',
        DRAIN: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});
