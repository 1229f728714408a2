import { assign, setup } from 'xstate';

/**
 * A venue session's state, as plain data (no I/O here): the session supplies the effects
 * (`connect`, `reconcile`, `resync`, `noteReady`) with `.provide()` and sends the machine what
 * they found. Timers run on the clock the actor is created with, so tests drive a `ManualClock`.
 *
 *   connecting ──CONNECTED──▶ reconciling ──RECONCILED──▶ ready ──RESUBSCRIBED──▶ resyncing
 *       ▲                         │                        ▲      (or RECONCILE)    │
 *       │                      FAILED                      └──RECONCILED / FAILED───┘
 *       └──(retryMs)── reconnecting ◀──FAILED── connecting
 *   any state ──STOP──▶ stopped
 *
 * Orders are placed and cancelled in `ready` and `resyncing` only (`canTrade`): while connecting
 * or reconciling after a start the records may not match the venue yet, so an approval is nak'ed
 * and comes back. A reconcile after a resubscription (OKX sends no snapshot on its private
 * channel) runs beside trading, and its failure is noted, not fatal: the next gap tries again.
 */
export interface SessionContext {
  /** The last failure, in words; cleared once the venue is ready. */
  lastError: string | undefined;
  /** Failed connects in a row (0 once ready). */
  attempts: number;
  /** Wait before connecting again after a failure. */
  retryMs: number;
}

export type SessionEvent =
  | { type: 'CONNECTED' }
  | { type: 'RECONCILED' }
  | { type: 'FAILED'; error: string }
  | { type: 'RESUBSCRIBED' }
  /** The periodic reconciliation is due (`reconcileEveryMs`): a reconcile beside trading, as after a resubscription. */
  | { type: 'RECONCILE' }
  | { type: 'ERROR'; error: string }
  | { type: 'STOP' };

export const SESSION_STATES = ['connecting', 'reconciling', 'ready', 'resyncing', 'reconnecting', 'stopped'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** States in which the session places and cancels orders. */
export function canTrade(state: SessionState): boolean {
  return state === 'ready' || state === 'resyncing';
}

export const venueSessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as { retryMs: number },
  },
  actions: {
    /** Resolve the adapter and subscribe to its order updates; answer CONNECTED or FAILED. */
    connect: () => undefined,
    /** Bring the records in line with the venue; answer RECONCILED or FAILED. */
    reconcile: () => undefined,
    /** The same after a resubscription, while trading goes on. */
    resync: () => undefined,
    /** The venue became ready after a (re)connect: sweep plans whose kill switch is thrown, log. */
    noteReady: () => undefined,
    noteError: assign({ lastError: ({ event }) => ('error' in event ? event.error : undefined) }),
    countFailure: assign({ attempts: ({ context }) => context.attempts + 1 }),
    clearErrors: assign({ lastError: undefined, attempts: 0 }),
  },
  delays: {
    retry: ({ context }) => context.retryMs,
  },
}).createMachine({
  id: 'venueSession',
  context: ({ input }) => ({ lastError: undefined, attempts: 0, retryMs: input.retryMs }),
  initial: 'connecting',
  on: {
    STOP: '.stopped',
    // The adapter's stream reports an error: noted in any state, the state stays.
    ERROR: { actions: 'noteError' },
  },
  states: {
    connecting: {
      entry: 'connect',
      on: {
        CONNECTED: 'reconciling',
        FAILED: { target: 'reconnecting', actions: ['noteError', 'countFailure'] },
      },
    },
    reconciling: {
      entry: 'reconcile',
      on: {
        RECONCILED: { target: 'ready', actions: ['clearErrors', 'noteReady'] },
        FAILED: { target: 'reconnecting', actions: ['noteError', 'countFailure'] },
      },
    },
    reconnecting: {
      after: { retry: 'connecting' },
    },
    ready: {
      on: { RESUBSCRIBED: 'resyncing', RECONCILE: 'resyncing' },
    },
    resyncing: {
      entry: 'resync',
      on: {
        RECONCILED: 'ready',
        FAILED: { target: 'ready', actions: 'noteError' },
        // Another gap while reconciling: the running reconcile already asks for everything.
        RESUBSCRIBED: {},
        RECONCILE: {},
      },
    },
    stopped: { type: 'final' },
  },
});
