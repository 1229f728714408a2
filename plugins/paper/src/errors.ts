import { KokexError } from '@kokex/core';

/** Error codes of the paper venue. Orders it refuses are not errors: they come back `accepted: false` with a reason. */
export const PaperErrorCode = {
  /** The stored paper account does not parse (written by another version, or by hand). */
  State: 'PAPER_STATE',
  /** Created without the host's bus: the paper venue reads candles and keeps its account only through the bus it is lent. */
  NoBus: 'PAPER_NO_BUS',
  /** The instrument rules of the plan's venue could not be read (its exchange adapter failed): the order is retried. */
  InstrumentUnavailable: 'PAPER_INSTRUMENT_UNAVAILABLE',
} as const;
export type PaperErrorCode = (typeof PaperErrorCode)[keyof typeof PaperErrorCode];

export class PaperStateError extends KokexError {
  constructor(key: string, cause: unknown) {
    super(
      PaperErrorCode.State,
      `paper account ${key} in kokex-positions does not parse: ${(cause as Error)?.message ?? cause}; delete the key to start afresh`,
      {
        cause,
        data: { key },
      },
    );
  }
}

export class PaperNoBusError extends KokexError {
  constructor(account: string) {
    super(
      PaperErrorCode.NoBus,
      `paper account ${account}: the paper venue needs the host's bus; resolve execution:paper with the context {bus} (the executor does)`,
      { data: { account } },
    );
  }
}

export class PaperInstrumentUnavailableError extends KokexError {
  constructor(inst: string, cause: unknown) {
    super(
      PaperErrorCode.InstrumentUnavailable,
      `paper venue: the instrument rules of ${inst} could not be read (${(cause as Error)?.message ?? cause}); the order is tried again`,
      { cause, retryable: true, data: { inst } },
    );
  }
}
