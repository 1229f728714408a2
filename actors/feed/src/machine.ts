import { assign, fromPromise, setup } from 'xstate';

/**
 * One series of the feed, from subscribing to live:
 *
 * - **subscribing**: the series' subscription on the venue's adapter is being made;
 * - **failed**: the venue (or the registry) refused it; tried again after `retryMs`, doubling up
 *   to 16×, so a plugin loaded or a plan fixed later heals the series without a restart;
 * - **catchingUp**: the closed bars missed are fetched over REST and published; live closed bars
 *   arriving meanwhile (or before it, while subscribing or retrying) are held and released when it
 *   ends (`releaseHeld`, on exit), so the inbox receives the series in time order. A request while
 *   fetching (a resubscribe, a failed publish) runs the fetch once more afterwards: coalesced,
 *   never in parallel;
 * - **retrying**: a catch-up failed; again after the same growing delay, or at once when asked;
 * - **live**: caught up, pushes flow; a resubscribe or a failed publish catches up again.
 *
 * Plain data: the feed provides `subscribe`, `fetchMissed` and `releaseHeld`; tests provide fakes
 * and a manual clock.
 */
export interface SeriesFeedContext {
  retryMs: number;
  /** Asked again while fetching. */
  again: boolean;
  /** Failed catch-ups in a row. */
  failures: number;
  /** Refused subscriptions in a row. */
  subscribeFailures: number;
  /** Catch-ups that finished. */
  runs: number;
  /** The venue reconnected and resubscribed the series. */
  resubscribes: number;
  lastError: unknown;
}

export type SeriesFeedEvent =
  /** Catch up (again): after a failed publish, or when asked. */
  | { type: 'REQUEST' }
  /** The adapter resubscribed after a reconnect: bars may have been missed. */
  | { type: 'RESUBSCRIBED' };

const growing = (retryMs: number, failures: number) => retryMs * 2 ** Math.min(Math.max(failures - 1, 0), 4);

export const seriesFeedMachine = setup({
  types: {
    context: {} as SeriesFeedContext,
    events: {} as SeriesFeedEvent,
    input: {} as { retryMs: number },
  },
  actors: {
    subscribe: fromPromise<void>(async () => {
      throw new Error('subscribe is provided by the feed');
    }),
    fetchMissed: fromPromise<void>(async () => {
      throw new Error('fetchMissed is provided by the feed');
    }),
  },
  guards: {
    requestedAgain: ({ context }) => context.again,
  },
  delays: {
    retryDelay: ({ context }) => growing(context.retryMs, context.failures),
    subscribeDelay: ({ context }) => growing(context.retryMs, context.subscribeFailures),
  },
  actions: {
    /** Provided by the feed: publishes the live bars held during a catch-up. */
    releaseHeld: () => undefined,
    begin: assign({ again: false }),
    markAgain: assign({ again: true }),
    countResubscribe: assign({ resubscribes: ({ context }) => context.resubscribes + 1 }),
    subscribed: assign({ subscribeFailures: 0 }),
    subscribeFailed: assign({
      subscribeFailures: ({ context }) => context.subscribeFailures + 1,
      lastError: ({ event }) => ('error' in event ? event.error : undefined),
    }),
    succeeded: assign({ failures: 0, runs: ({ context }) => context.runs + 1 }),
    failed: assign({
      failures: ({ context }) => context.failures + 1,
      lastError: ({ event }) => ('error' in event ? event.error : undefined),
    }),
  },
}).createMachine({
  id: 'series-feed',
  context: ({ input }) => ({
    retryMs: input.retryMs,
    again: false,
    failures: 0,
    subscribeFailures: 0,
    runs: 0,
    resubscribes: 0,
    lastError: undefined,
  }),
  initial: 'subscribing',
  on: { RESUBSCRIBED: { actions: 'countResubscribe' } },
  states: {
    subscribing: {
      invoke: {
        src: 'subscribe',
        onDone: { target: 'catchingUp', actions: 'subscribed' },
        onError: { target: 'failed', actions: 'subscribeFailed' },
      },
    },
    failed: {
      after: { subscribeDelay: 'subscribing' },
    },
    catchingUp: {
      entry: 'begin',
      exit: 'releaseHeld',
      on: {
        REQUEST: { actions: 'markAgain' },
        RESUBSCRIBED: { actions: ['countResubscribe', 'markAgain'] },
      },
      invoke: {
        src: 'fetchMissed',
        onDone: [
          { guard: 'requestedAgain', target: 'catchingUp', reenter: true, actions: 'succeeded' },
          { target: 'live', actions: 'succeeded' },
        ],
        onError: { target: 'retrying', actions: 'failed' },
      },
    },
    retrying: {
      on: {
        REQUEST: 'catchingUp',
        RESUBSCRIBED: { target: 'catchingUp', actions: 'countResubscribe' },
      },
      after: { retryDelay: 'catchingUp' },
    },
    live: {
      on: {
        REQUEST: 'catchingUp',
        RESUBSCRIBED: { target: 'catchingUp', actions: 'countResubscribe' },
      },
    },
  },
});
