import { assign, fromPromise, setup } from 'xstate';

/**
 * One series' repairs, as the validator runs them. Two regions:
 *
 * `work` does one thing at a time: **loading** the book from MD_CANDLES, **idle**, **grace** (a
 * gap was found; late and reordered bars get `gapGraceMs` to fill it), **backfilling** (the venue
 * asked for what is still missing), **scanning** (the stored window checked, holes and the tail
 * fetched), **backingOff** (a job failed: the same job again after `retryMs`, doubling up to 16×).
 * A gap found or a scan falling due while busy is remembered and done next, never in parallel.
 *
 * `scanClock` strikes every `scanEveryMs` (the first time after `min(firstScanMs, scanEveryMs)`)
 * while a plan names the series, and is **off** when none does.
 *
 * The machine is plain data (no I/O): the validator provides `load`, `backfill` and `scan`; tests
 * provide fakes and a manual clock.
 */
export type RepairJob = 'load' | 'backfill' | 'scan';

export interface SeriesRepairContext {
  retryMs: number;
  gapGraceMs: number;
  firstScanMs: number;
  /** Undefined when no plan names the series: it is then never scanned. */
  scanEveryMs: number | undefined;
  /** A gap was found while busy: check it next. */
  gapPending: boolean;
  /** The scan clock struck while busy: scan next. */
  scanDue: boolean;
  /** The job that failed, tried again after the back-off. */
  retry: RepairJob | undefined;
  /** Failed jobs in a row. */
  failures: number;
  lastError: unknown;
  /** Times the scan clock struck. */
  strikes: number;
  scans: number;
}

export type SeriesRepairEvent =
  /** A new bar opened a gap. */
  | { type: 'GAP' }
  /** The plans changed: whether (and how often) the series is scanned now. */
  | { type: 'SCHEDULE'; scanEveryMs: number | undefined };

export interface SeriesRepairInput {
  retryMs: number;
  gapGraceMs: number;
  firstScanMs: number;
  scanEveryMs: number | undefined;
}

const provided = (name: string) =>
  fromPromise<void>(async () => {
    throw new Error(`${name} is provided by the validator`);
  });

export const seriesRepairMachine = setup({
  types: {
    context: {} as SeriesRepairContext,
    events: {} as SeriesRepairEvent,
    input: {} as SeriesRepairInput,
  },
  actors: { load: provided('load'), backfill: provided('backfill'), scan: provided('scan') },
  guards: {
    scanDue: ({ context }) => context.scanDue,
    gapPending: ({ context }) => context.gapPending,
    retryIs: ({ context }, job: RepairJob) => context.retry === job,
    scanned: ({ event, context }) => (event.type === 'SCHEDULE' ? event.scanEveryMs : context.scanEveryMs) !== undefined,
  },
  delays: {
    gapGrace: ({ context }) => context.gapGraceMs,
    retryDelay: ({ context }) => context.retryMs * 2 ** Math.min(Math.max(context.failures - 1, 0), 4),
    scanDelay: ({ context }) => {
      const every = context.scanEveryMs ?? Number.MAX_SAFE_INTEGER;
      return context.strikes === 0 ? Math.min(context.firstScanMs, every) : every;
    },
  },
  actions: {
    markGap: assign({ gapPending: true }),
    startGrace: assign({ gapPending: false }),
    startScan: assign({ scanDue: false, scans: ({ context }) => context.scans + 1 }),
    strike: assign({ scanDue: true, strikes: ({ context }) => context.strikes + 1 }),
    schedule: assign({ scanEveryMs: ({ event, context }) => (event.type === 'SCHEDULE' ? event.scanEveryMs : context.scanEveryMs) }),
    succeeded: assign({ failures: 0, retry: undefined }),
    failed: assign({
      failures: ({ context }) => context.failures + 1,
      lastError: ({ event }) => ('error' in event ? event.error : undefined),
    }),
  },
}).createMachine({
  id: 'series-repair',
  type: 'parallel',
  context: ({ input }) => ({
    ...input,
    gapPending: false,
    scanDue: false,
    retry: undefined,
    failures: 0,
    lastError: undefined,
    strikes: 0,
    scans: 0,
  }),
  on: { SCHEDULE: { actions: 'schedule' } },
  states: {
    work: {
      initial: 'loading',
      on: { GAP: { actions: 'markGap' } },
      states: {
        loading: {
          invoke: {
            src: 'load',
            onDone: { target: 'idle', actions: 'succeeded' },
            onError: { target: 'backingOff', actions: ['failed', assign({ retry: 'load' as const })] },
          },
        },
        idle: {
          always: [
            { guard: 'scanDue', target: 'scanning' },
            { guard: 'gapPending', target: 'grace' },
          ],
          on: { GAP: 'grace' },
        },
        grace: {
          entry: 'startGrace',
          on: { GAP: {} },
          after: { gapGrace: 'backfilling' },
        },
        backfilling: {
          invoke: {
            src: 'backfill',
            onDone: { target: 'idle', actions: 'succeeded' },
            onError: { target: 'backingOff', actions: ['failed', assign({ retry: 'backfill' as const })] },
          },
        },
        scanning: {
          entry: 'startScan',
          invoke: {
            src: 'scan',
            onDone: { target: 'idle', actions: 'succeeded' },
            onError: { target: 'backingOff', actions: ['failed', assign({ retry: 'scan' as const })] },
          },
        },
        backingOff: {
          after: {
            retryDelay: [
              { guard: { type: 'retryIs', params: 'load' }, target: 'loading' },
              { guard: { type: 'retryIs', params: 'scan' }, target: 'scanning' },
              { target: 'backfilling' },
            ],
          },
        },
      },
    },
    scanClock: {
      initial: 'choosing',
      states: {
        choosing: {
          always: [{ guard: 'scanned', target: 'ticking' }, { target: 'off' }],
        },
        off: {
          on: { SCHEDULE: { guard: 'scanned', target: 'ticking', actions: 'schedule' } },
        },
        ticking: {
          on: { SCHEDULE: { guard: ({ event }) => event.scanEveryMs === undefined, target: 'off', actions: 'schedule' } },
          after: { scanDelay: { target: 'ticking', reenter: true, actions: 'strike' } },
        },
      },
    },
  },
});
