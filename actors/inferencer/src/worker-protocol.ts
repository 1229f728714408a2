import type { ExecutionProvider, WireError } from '@kokex/core';
import type { ForecastPaths, ForecastRequest, ForecastRunOptions } from '@kokex/kronos-runtime';

/**
 * The messages between the inferencer and its inference thread (worker.ts). Every request carries
 * an id its reply repeats; a model lives in the thread under a handle the client chose.
 */
export type WorkerRequest =
  | {
      type: 'load';
      id: number;
      handle: number;
      source: { files: Record<string, Uint8Array>; where?: string };
      options: { executionProviders?: readonly ExecutionProvider[]; intraOpThreads?: number };
    }
  | { type: 'forecast'; id: number; handle: number; requests: readonly ForecastRequest[]; options?: ForecastRunOptions }
  | { type: 'dispose'; id: number; handle: number }
  /** Release every model, answer `done`, and end the thread (the client terminates it only if it does not). */
  | { type: 'close'; id: number }
  | { type: 'crash'; id: number; message: string };

export type WorkerReply =
  /** `tid`: the thread's OS id, when its nice value was set. */
  | { type: 'ready'; id: 0; tid?: number }
  | { type: 'loaded'; id: number; executionProvider: ExecutionProvider; maxContext: number }
  | { type: 'result'; id: number; paths: ForecastPaths[] }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; error: WireError; name?: string }
  | { type: 'log'; level: 'info' | 'warn'; obj: object; msg: string };
