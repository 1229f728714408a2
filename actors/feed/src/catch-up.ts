import { assign, fromPromise, setup } from 'xstate';

/**
 * One series' catch-up: fetch the closed bars missed (through REST) and publish them. Requests
 * arrive at start, after every resubscribe and after a failed publish; a request while fetching
 * runs the fetch once more afterwards (coalesced, never in parallel); a failed fetch is retried
 * after a growing delay (retryMs, doubling, at most 16×), or at once when asked again. The machine
 * is plain data: the feed provides `fetchMissed`, tests provide a fake and a manual clock.
 */
export interface CatchUpContext {
  retryMs: number;
  /** Asked again while fetching. */
  again: boolean;
  /** Failed fetches in a row. */
  failures: number;
  /** Fetches that finished. */
  runs: number;
  lastError: unknown;
}

export type CatchUpEvent = { type: 'REQUEST' };

export const catchUpMachine = setup({
  types: {
    context: {} as CatchUpContext,
    events: {} as CatchUpEvent,
    input: {} as { retryMs: number },
  },
  actors: {
    fetchMissed: fromPromise<void>(async () => {
      throw new Error('fetchMissed is provided by the feed');
    }),
  },
  guards: {
    requestedAgain: ({ context }) => context.again,
  },
  delays: {
    retryDelay: ({ context }) => context.retryMs * 2 ** Math.min(Math.max(context.failures - 1, 0), 4),
  },
  actions: {
    begin: assign({ again: false }),
    markAgain: assign({ again: true }),
    succeeded: assign({ failures: 0, runs: ({ context }) => context.runs + 1 }),
    failed: assign({
      failures: ({ context }) => context.failures + 1,
      lastError: ({ event }) => ('error' in event ? event.error : undefined),
    }),
  },
}).createMachine({
  id: 'catch-up',
  context: ({ input }) => ({ retryMs: input.retryMs, again: false, failures: 0, runs: 0, lastError: undefined }),
  initial: 'idle',
  states: {
    idle: {
      on: { REQUEST: 'fetching' },
    },
    fetching: {
      entry: 'begin',
      on: { REQUEST: { actions: 'markAgain' } },
      invoke: {
        src: 'fetchMissed',
        onDone: [
          { guard: 'requestedAgain', target: 'fetching', reenter: true, actions: 'succeeded' },
          { target: 'idle', actions: 'succeeded' },
        ],
        onError: { target: 'waiting', actions: 'failed' },
      },
    },
    waiting: {
      on: { REQUEST: 'fetching' },
      after: { retryDelay: 'fetching' },
    },
  },
});
