import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { toWireError } from '@kokex/core';
import { type ForecastPaths, KronosModel } from '@kokex/kronos-runtime';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * The inference thread (node:worker_threads): it loads Kronos models through the runtime's public
 * API and runs their forecasts, so ONNX Runtime never holds the host's event loop. It is started
 * and owned by the inferencer (`InferenceWorker`, worker-client.ts) and speaks the messages of
 * worker-protocol.ts; results travel back as transferred ArrayBuffers.
 */
if (!parentPort) throw new Error('actors/inferencer/src/worker is a worker_threads entry; start it with InferenceWorker');
const port: MessagePort = parentPort;

const models = new Map<number, KronosModel>();

/**
 * This thread's nice value, set before any model loads: ONNX Runtime's operator threads are
 * created by it and inherit it, so on a busy machine the host's event loop (the guard beside the
 * inferencer in `kokex up`) runs first. Linux: the nice value is per thread, and
 * /proc/thread-self names this one. Elsewhere, and where it is refused, the thread keeps the
 * process's priority (reported in `ready`).
 */
function lowerPriority(nice: number): number | undefined {
  if (!nice) return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return undefined;
    setPriority(tid, nice);
    return tid;
  } catch {
    return undefined;
  }
}
const tid = lowerPriority(Number((workerData as { nice?: number } | undefined)?.nice ?? 0));

const log = {
  info: (obj: object, msg: string) => port.postMessage({ type: 'log', level: 'info', obj, msg } satisfies WorkerReply),
  warn: (obj: object, msg: string) => port.postMessage({ type: 'log', level: 'warn', obj, msg } satisfies WorkerReply),
};

/** The buffers of every typed array in the results, each once (two views of one buffer are one transfer). */
function transferList(paths: readonly ForecastPaths[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const p of paths) {
    for (const a of [p.values, p.normalized, p.s1, p.s2, p.mean, p.std]) {
      if (a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
    }
  }
  return [...buffers];
}

async function handle(msg: WorkerRequest): Promise<void> {
  switch (msg.type) {
    case 'load': {
      const model = await KronosModel.load(msg.source, { ...msg.options, log });
      models.set(msg.handle, model);
      port.postMessage({
        type: 'loaded',
        id: msg.id,
        executionProvider: model.executionProvider,
        maxContext: model.maxContext,
      } satisfies WorkerReply);
      return;
    }
    case 'forecast': {
      const model = models.get(msg.handle);
      if (!model) throw new Error(`no model ${msg.handle} in the inference worker (disposed, or never loaded)`);
      const running = model.forecast(msg.requests, msg.options);
      inFlight.add(running);
      const paths = await running.finally(() => inFlight.delete(running));
      if (crashing) return;
      const reply: WorkerReply = { type: 'result', id: msg.id, paths };
      try {
        port.postMessage(reply, transferList(paths));
      } catch {
        // A buffer that cannot be transferred (one ONNX Runtime owns): copied instead.
        port.postMessage(reply);
      }
      return;
    }
    case 'dispose': {
      const model = models.get(msg.handle);
      models.delete(msg.handle);
      await model?.dispose();
      port.postMessage({ type: 'done', id: msg.id } satisfies WorkerReply);
      return;
    }
    case 'close': {
      // ONNX Runtime's sessions are released here, on this thread, before it ends: a thread torn
      // down with live native sessions leaves their finalizers to the process's exit.
      const all = [...models.values()];
      models.clear();
      for (const model of all) await model.dispose().catch(() => undefined);
      port.postMessage({ type: 'done', id: msg.id } satisfies WorkerReply);
      port.close();
      return;
    }
    case 'crash': {
      // Tests only: an uncaught error, as a native fault or a bug would end the thread. The sessions
      // are released first and nothing more is answered, so what the client sees is the exit alone:
      // a test crash must not leave live native sessions to the teardown of a thread that died.
      // A forecast still inside ONNX Runtime finishes first (its answer is dropped): a session
      // released, or a thread ended, under a running inference aborts the whole process.
      crashing = true;
      await Promise.allSettled([...inFlight]);
      const all = [...models.values()];
      models.clear();
      for (const model of all) await model.dispose().catch(() => undefined);
      setImmediate(() => {
        throw new Error(msg.message);
      });
      return;
    }
  }
}

/** Set by the test crash: the thread is about to die, and answers nothing more. */
let crashing = false;
/** Forecasts running in ONNX Runtime now. */
const inFlight = new Set<Promise<unknown>>();

port.on('message', (msg: WorkerRequest) => {
  handle(msg).catch((err: unknown) => {
    if (crashing) return;
    port.postMessage({ type: 'error', id: msg.id, error: toWireError(err), name: (err as Error)?.name } satisfies WorkerReply);
  });
});
port.postMessage({ type: 'ready', id: 0, ...(tid ? { tid } : {}) } satisfies WorkerReply);
