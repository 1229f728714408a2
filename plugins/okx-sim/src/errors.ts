import { KokexError } from '@kokex/core';

/** Errors of the simulator itself (not the OKX error answers it sends, which are data). */
export const SimErrorCode = {
  Data: 'OKX_SIM_DATA',
  Config: 'OKX_SIM_CONFIG',
  State: 'OKX_SIM_STATE',
} as const;
export type SimErrorCode = (typeof SimErrorCode)[keyof typeof SimErrorCode];

export class SimError extends KokexError {
  constructor(code: SimErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { data, cause, retryable: false });
  }
}
