import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ExecutionProvider, errorFromWire, type Logger } from '@kokex/core';
import { type ForecastPaths, type ForecastRequest, type ForecastRunOptions, KronosModel } from '@kokex/kronos-runtime';
import { InferenceWorkerError } from './errors.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * What the inferencer needs of a loaded model, wherever it runs: in this thread (`KronosModel`
 * itself) or in the inference thread (`WorkerModel`).
 */
export interface ForecastModel {
  readonly executionProvider: ExecutionProvider;
  forecast(requests: readonly ForecastRequest[], options?: ForecastRunOptions): Promise<ForecastPaths[]>;
  dispose(): Promise<void>;
}

export interface ModelLoadOptions {
  executionProviders?: readonly ExecutionProvider[];
  intraOpThreads?: number;
  log?: Logger;
}

/** Loads a model's files (from the registry) into something that forecasts. */
export type ModelLoader = (files: Record<string, Uint8Array>, where: string, options: ModelLoadOptions) => Promise<ForecastModel>;

/** In this thread: ONNX Runtime runs on the host's event loop (`thread: inline`). */
export const inlineLoader: ModelLoader = (files, where, options) =>
  KronosModel.load(
    { files, where },
    { executionProviders: options.executionProviders, intraOpThreads: options.intraOpThreads, log: options.log },
  );

/**
 * True when this module runs from its TypeScript sources (Vitest, tsx), false from the compiled
 * build. By the path: the host's plugin loader adds a query to each load's URLs.
 */
const FROM_SOURCE = new URL(import.meta.url).pathname.endsWith('.ts');

/**
 * How the thread is started. From the build: `worker.js` beside this file, with the host's flags.
 * From the sources (Vitest, tsx): a bootstrap that imports `worker.ts` through tsx's `tsImport`
 * (on Node 20 a worker does not take the loader of `--import tsx` from its execArgv), with
 * `--conditions=kokex-source` so the workspace packages it imports resolve to their sources too.
 */
export function workerEntry(execArgv: readonly string[] = process.execArgv): { entry: URL | string; eval: boolean; execArgv: string[] } {
  if (!FROM_SOURCE) return { entry: new URL('./worker.js', import.meta.url), eval: false, execArgv: [...execArgv] };
  const args = [...execArgv];
  const hasCondition = args.some(
    (a, i) => a === '--conditions=kokex-source' || (['--conditions', '-C'].includes(a) && args[i + 1] === 'kokex-source'),
  );
  if (!hasCondition) args.push('--conditions=kokex-source');
  // tsx's ESM API, by its file: the package's `./esm/api` export resolves to CommonJS for require.
  const tsxDir = dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const source = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `const { tsImport } = await import(${JSON.stringify(tsx)});\nawait tsImport(${JSON.stringify(source)}, ${JSON.stringify(source)});\n`;
  return { entry: bootstrap, eval: true, execArgv: args };
}

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(err: Error): void;
}

/**
 * Live inference threads of this process (tests check none outlives its actor). Kept on a global
 * symbol: a host loads each plugin into a module graph of its own, and the set counts them all.
 */
/** How long a stopping thread may take to release its models and end before it is terminated. */
const STOP_GRACE_MS = 5_000;

const LIVE = Symbol.for('kokex.inferencer.workers');
const live: Set<InferenceWorker> = ((globalThis as Record<symbol, unknown>)[LIVE] as Set<InferenceWorker> | undefined) ?? new Set();
(globalThis as Record<symbol, unknown>)[LIVE] = live;
export function liveInferenceWorkers(): ReadonlySet<InferenceWorker> {
  return live;
}

export interface InferenceWorkerOptions {
  log: Logger;
  /** The thread's nice value (0–19; Linux): above 0 the host's event loop wins the CPU from inference. Default: 0. */
  nice?: number;
  /** Called once when the thread ends without `stop()` (a crash): every pending call has been rejected with the same error. */
  onExit?(err: InferenceWorkerError): void;
}

/**
 * The inference thread, from this side: it loads models there and forwards their forecasts. A
 * crash (an uncaught error, an exit nobody asked for) rejects every call in flight and every later
 * one with `INFERENCER_WORKER` and tells `onExit`; the inferencer fails its actor with it, and the
 * host's restart starts a fresh thread. `stop()` terminates the thread and waits for it to end.
 */
export class InferenceWorker {
  readonly thread: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<number>;
  #nextId = 1;
  #nextHandle = 1;
  #stopping = false;
  #started = false;
  #dead: InferenceWorkerError | undefined;
  #lastError: Error | undefined;
  /** The thread's OS id, when its nice value was set (Linux). */
  tid: number | undefined;

  private constructor(private readonly options: InferenceWorkerOptions) {
    const how = workerEntry();
    this.thread = new Worker(how.entry, { eval: how.eval, execArgv: how.execArgv, workerData: { nice: options.nice ?? 0 } });
    live.add(this);
    this.thread.on('message', (reply: WorkerReply) => this.#onMessage(reply));
    this.thread.on('error', (err) => {
      this.#lastError = err;
    });
    this.#exited = new Promise((resolve) => {
      this.thread.once('exit', (code) => {
        live.delete(this);
        const cause = this.#lastError;
        const err = new InferenceWorkerError(
          this.#stopping
            ? 'the inference worker was stopped'
            : `the inference worker exited (code ${code})${cause ? `: ${cause.message}` : ''}; the inferencer restarts with a fresh one`,
          { code, stopped: this.#stopping },
          cause,
        );
        this.#dead = err;
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        if (!this.#stopping && this.#started) options.onExit?.(err);
        resolve(code);
      });
    });
  }

  /** Starts the thread and resolves once it has loaded the runtime (a start that fails is an error here, not at the first forecast). */
  static async start(options: InferenceWorkerOptions): Promise<InferenceWorker> {
    const worker = new InferenceWorker(options);
    try {
      const ready = await worker.#call({ type: 'ready', id: 0 });
      if (ready.type === 'ready') worker.tid = ready.tid;
      worker.#started = true;
    } catch (err) {
      await worker.stop();
      throw err;
    }
    return worker;
  }

  get alive(): boolean {
    return !this.#dead;
  }

  /** Resolves with the exit code once the thread has ended. */
  get exited(): Promise<number> {
    return this.#exited;
  }

  #onMessage(reply: WorkerReply): void {
    if (reply.type === 'log') {
      this.options.log[reply.level](reply.obj, reply.msg);
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.type === 'error') {
      const err = errorFromWire(reply.error);
      if (reply.name) err.name = reply.name;
      pending.reject(err);
    } else pending.resolve(reply);
  }

  /** Sends a request (or, for `ready`, only waits for the thread's first message) and resolves with its reply. */
  #call(request: WorkerRequest | { type: 'ready'; id: 0 }): Promise<WorkerReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = request.type === 'ready' ? 0 : this.#nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (request.type !== 'ready') this.thread.postMessage({ ...request, id });
    });
  }

  /** Loads a model in the thread (the files are copied there once). */
  async load(files: Record<string, Uint8Array>, where: string, options: ModelLoadOptions = {}): Promise<WorkerModel> {
    const handle = this.#nextHandle++;
    const reply = await this.#call({
      type: 'load',
      id: 0,
      handle,
      source: { files, where },
      options: { executionProviders: options.executionProviders, intraOpThreads: options.intraOpThreads },
    });
    if (reply.type !== 'loaded') throw new Error(`inference worker: unexpected reply ${reply.type} to load`);
    return new WorkerModel(this, handle, reply.executionProvider, (request) => this.#call(request));
  }

  /** A loader for ModelManager: every model in this thread. */
  get loader(): ModelLoader {
    return (files, where, options) => this.load(files, where, options);
  }

  /** Tests only: an uncaught error in the thread, as a native fault would end it. */
  crashForTest(message = 'crash requested by a test'): void {
    this.thread.postMessage({ type: 'crash', id: 0, message } satisfies WorkerRequest);
  }

  /**
   * Ends the thread and resolves once it has: it is asked to release its models and end on its
   * own (a forecast running finishes its current step first), and terminated only if it has not
   * within `STOP_GRACE_MS`. Calls in flight are rejected.
   */
  async stop(): Promise<void> {
    if (!this.#dead && !this.#stopping) {
      this.#stopping = true;
      for (const p of this.#pending.values()) p.reject(new InferenceWorkerError('the inference worker was stopped', { stopped: true }));
      this.#pending.clear();
      this.thread.postMessage({ type: 'close', id: this.#nextId++ } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        this.#exited.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), STOP_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!graceful) await this.thread.terminate();
    }
    await this.#exited;
  }
}

/** A model loaded in the inference thread: forecasts go there and their arrays come back transferred. */
export class WorkerModel implements ForecastModel {
  #disposed = false;

  constructor(
    readonly worker: InferenceWorker,
    readonly handle: number,
    readonly executionProvider: ExecutionProvider,
    private readonly call: (request: WorkerRequest) => Promise<WorkerReply>,
  ) {}

  async forecast(requests: readonly ForecastRequest[], options?: ForecastRunOptions): Promise<ForecastPaths[]> {
    const reply = await this.call({ type: 'forecast', id: 0, handle: this.handle, requests, ...(options ? { options } : {}) });
    if (reply.type !== 'result') throw new Error(`inference worker: unexpected reply ${reply.type} to forecast`);
    return reply.paths;
  }

  /** Releases the sessions in the thread once its running forecast has finished; nothing to do once the thread has ended. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    if (!this.worker.alive) return;
    await this.call({ type: 'dispose', id: 0, handle: this.handle }).catch((err: unknown) => {
      if (this.worker.alive) throw err;
    });
  }
}
