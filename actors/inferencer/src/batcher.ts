import type { ForecastPaths, ForecastRequest } from '@kokex/kronos-runtime';
import type { ForecastModel } from './worker-client.js';

/**
 * Batches concurrent forecast requests. A request waits at most `windowMs` (or until the running
 * batch finishes) for others; then every waiting request for the same loaded model goes to
 * ONNX Runtime in one `forecast()` call, and identical requests (same series, same last bar, same
 * settings) are computed once and share the result.
 */
export interface BatchJob {
  model: ForecastModel;
  request: ForecastRequest;
  /** Equal keys mean equal forecasts: computed once. */
  coalesceKey: string;
}

export interface BatchResult {
  paths: ForecastPaths;
  /** Wall time of the ONNX Runtime call this request shared. */
  computeMs: number;
  /** Requests (after coalescing) in that call. */
  batchSize: number;
  /** The seed the paths were drawn with (a coalesced request gets the first one's). */
  seed: number;
}

interface Waiting {
  job: BatchJob;
  resolve(result: BatchResult): void;
  reject(err: unknown): void;
}

export class ForecastBatcher {
  #queue: Waiting[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  batches = 0;
  coalesced = 0;

  constructor(private readonly windowMs: number) {}

  run(job: BatchJob): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.#running || this.#timer || this.#queue.length)
      await (this.#running ?? new Promise((r) => setTimeout(r, this.windowMs + 1)));
  }

  #schedule(): void {
    if (this.#timer || this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#flush().finally(() => {
        this.#running = undefined;
        if (this.#queue.length) this.#schedule();
      });
    }, this.windowMs);
  }

  async #flush(): Promise<void> {
    const waiting = this.#queue.splice(0);
    const byModel = new Map<ForecastModel, Waiting[]>();
    for (const w of waiting) byModel.set(w.job.model, [...(byModel.get(w.job.model) ?? []), w]);
    for (const [model, group] of byModel) {
      const unique = new Map<string, Waiting[]>();
      for (const w of group) unique.set(w.job.coalesceKey, [...(unique.get(w.job.coalesceKey) ?? []), w]);
      const keys = [...unique.keys()];
      this.coalesced += group.length - keys.length;
      this.batches++;
      const started = performance.now();
      try {
        const requests = keys.map((k) => (unique.get(k) as Waiting[])[0]?.job.request as ForecastRequest);
        const out = await model.forecast(requests);
        const computeMs = performance.now() - started;
        keys.forEach((k, i) => {
          const seed = (requests[i] as ForecastRequest).seed;
          for (const w of unique.get(k) ?? []) w.resolve({ paths: out[i] as ForecastPaths, computeMs, batchSize: keys.length, seed });
        });
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
  }
}
