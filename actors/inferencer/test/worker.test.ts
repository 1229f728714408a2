import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ActorHost, applyPlan, isKokexError } from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { type ForecastPaths, type ForecastRequest, KronosErrorCode, KronosModel } from '@kokex/kronos-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferencerErrorCode } from '../src/errors.js';
import { FORECAST_REQUEST_SUBJECT, SHIPPED_MODEL_DIR } from '../src/index.js';
import { InferenceWorker, liveInferenceWorkers, workerEntry } from '../src/worker-client.js';
import { HOUR, hourlyCandles, INFERENCER_DIR, publishCandles, testPlan } from './support.js';

/**
 * The inference thread: forecasts through it equal the in-process ones bit for bit, runtime errors
 * keep their codes across it, a crash fails what it held and the actor restarts with a fresh
 * thread, and stopping the actor leaves no thread behind.
 */
const START = Date.UTC(2026, 0, 1);
const BTC = 'BTC-USDT-SWAP';

async function shippedFiles(): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const f of await readdir(SHIPPED_MODEL_DIR)) {
    if (f.endsWith('.onnx') || f === 'card.json') files[f] = new Uint8Array(await readFile(join(SHIPPED_MODEL_DIR, f)));
  }
  return files;
}

function request(seed: number, bars = 64, paths = 8): ForecastRequest {
  const candles = hourlyCandles(BTC, START, bars);
  const last = candles[candles.length - 1]?.ts as number;
  return {
    candles,
    futureTs: [1, 2, 3, 4, 5, 6].map((k) => last + k * HOUR),
    paths,
    sampling: { temperature: 1, topK: 0, topP: 0.9 },
    seed,
  };
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameBits(a: ForecastPaths, b: ForecastPaths): void {
  for (const k of ['values', 'normalized', 's1', 's2', 'mean', 'std'] as const) {
    expect(a[k].constructor).toBe(b[k].constructor);
    expect(bytes(a[k]).equals(bytes(b[k])), k).toBe(true);
  }
  expect([a.horizon, a.paths, a.lookback, a.batchRows, a.path, a.steps]).toEqual([
    b.horizon,
    b.paths,
    b.lookback,
    b.batchRows,
    b.path,
    b.steps,
  ]);
}

/** This process's OS threads (Linux): id → nice value. */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      out.set(Number(t), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended while being read
    }
  }
  return out;
}

function osThreads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

describe('inference worker (the thread alone)', () => {
  let files: Record<string, Uint8Array>;
  let inline: KronosModel;
  beforeAll(async () => {
    files = await shippedFiles();
    inline = await KronosModel.load({ files: { ...files }, where: 'shipped' });
  });
  afterAll(async () => {
    await inline?.dispose();
  });

  it('starts from the sources with tsx and the source condition, and from the build with worker.js and the host’s flags', () => {
    const source = workerEntry(['--inspect=0']);
    expect(source.eval).toBe(true);
    expect(source.execArgv).toEqual(['--inspect=0', '--conditions=kokex-source']);
    expect(String(source.entry)).toContain('tsImport');
    expect(String(source.entry)).toContain('/actors/inferencer/src/worker.ts');
    // Given already, the condition is not repeated.
    expect(workerEntry(['-C', 'kokex-source']).execArgv).toEqual(['-C', 'kokex-source']);
  });

  it('forecasts bit for bit as in-process for the same seeds, one request and two batched together', async () => {
    const worker = await InferenceWorker.start({ log: captureLogger('warn').log });
    try {
      const model = await worker.load(files, 'shipped');
      expect(model.executionProvider).toBe(inline.executionProvider);
      const [one] = await model.forecast([request(11)]);
      const [ref] = await inline.forecast([request(11)]);
      expectSameBits(one as ForecastPaths, ref as ForecastPaths);
      const two = await model.forecast([request(3), request(4, 64, 16)]);
      const refs = await inline.forecast([request(3), request(4, 64, 16)]);
      expect(two.length).toBe(2);
      two.forEach((p, i) => {
        expectSameBits(p, refs[i] as ForecastPaths);
      });
      // Another seed draws other paths (the comparison above could not pass by accident).
      const [other] = await model.forecast([request(12)]);
      expect(bytes((other as ForecastPaths).values).equals(bytes((ref as ForecastPaths).values))).toBe(false);
      await model.dispose();
    } finally {
      await worker.stop();
    }
  });

  it('a bad request keeps the runtime’s error code across the thread, and the thread goes on', async () => {
    const worker = await InferenceWorker.start({ log: captureLogger('warn').log });
    try {
      const model = await worker.load(files, 'shipped');
      const err = await model.forecast([{ ...request(1), candles: hourlyCandles(BTC, START, 1) }]).catch((e: unknown) => e);
      expect(isKokexError(err) && err.code).toBe(KronosErrorCode.Input);
      expect((err as Error).name).toBe('KronosInputError');
      expect((await model.forecast([request(1)]))[0]?.paths).toBe(8);
    } finally {
      await worker.stop();
    }
  });

  it('a crash fails the forecast in flight and every later call with INFERENCER_WORKER, and reports the exit once', async () => {
    const exits: Error[] = [];
    const worker = await InferenceWorker.start({ log: captureLogger('warn').log, onExit: (err) => exits.push(err) });
    expect(liveInferenceWorkers().has(worker)).toBe(true);
    const model = await worker.load(files, 'shipped');
    const inFlight = model.forecast([request(5, 64, 64)]).catch((e: unknown) => e);
    // The thread dies of an uncaught error. (Not `thread.terminate()` under a running inference:
    // ONNX Runtime's native callback then throws into a torn-down thread and aborts the whole
    // process — CI lost a test worker to it.)
    worker.crashForTest('the thread died');
    const err = await inFlight;
    expect(isKokexError(err) && err.code).toBe(InferencerErrorCode.Worker);
    expect((err as Error).message).toMatch(/inference worker exited \(code 1\)/);
    const later = await model.forecast([request(5)]).catch((e: unknown) => e);
    expect(isKokexError(later) && later.code).toBe(InferencerErrorCode.Worker);
    expect(exits.length).toBe(1);
    expect(worker.alive).toBe(false);
    expect(liveInferenceWorkers().has(worker)).toBe(false);
    await model.dispose(); // nothing left to release: resolves
    await worker.stop();
    expect(exits.length).toBe(1);
  });

  it('an uncaught error in the thread is a crash too, with its message', async () => {
    const exits: Error[] = [];
    const worker = await InferenceWorker.start({ log: captureLogger('warn').log, onExit: (err) => exits.push(err) });
    worker.crashForTest('boom in the inference thread');
    expect(await worker.exited).toBe(1);
    expect(exits.map((e) => e.message)).toEqual([expect.stringContaining('boom in the inference thread')]);
  });

  it('runs at the nice value it was given, and so do the ONNX Runtime threads it starts (the host’s loop runs first)', async () => {
    const worker = await InferenceWorker.start({ log: captureLogger('warn').log, nice: 7 });
    try {
      expect(worker.tid).toBeGreaterThan(0);
      const before = niceByThread();
      expect(before.get(worker.tid as number)).toBe(7);
      expect(before.get(process.pid)).toBe(0); // the main thread keeps its own
      const model = await worker.load(files, 'shipped');
      await model.forecast([request(2)]);
      const started = [...niceByThread()].filter(([tid]) => !before.has(tid));
      expect(started.length).toBeGreaterThan(0);
      expect(started.map(([, nice]) => nice)).toEqual(started.map(() => 7));
    } finally {
      await worker.stop();
    }
  });

  it('stop() ends the thread: it releases its models and exits on its own, nothing more is accepted, and no OS thread is left', async () => {
    const before = osThreads();
    const worker = await InferenceWorker.start({ log: captureLogger('warn').log });
    const model = await worker.load(files, 'shipped');
    await model.forecast([request(2)]);
    expect(osThreads()).toBeGreaterThan(before);
    // A forecast still in flight is answered with the stop, not left pending.
    const inFlight = model.forecast([request(3)]).catch((e: unknown) => e);
    await worker.stop();
    expect(isKokexError(await inFlight) && ((await inFlight) as { code: string }).code).toBe(InferencerErrorCode.Worker);
    // Exit code 0: the thread ended itself with its sessions released (a terminated thread exits 1).
    expect(await worker.exited).toBe(0);
    expect(liveInferenceWorkers().has(worker)).toBe(false);
    const after = await model.forecast([request(2)]).catch((e: unknown) => e);
    expect(isKokexError(after) && after.code).toBe(InferencerErrorCode.Worker);
    await eventually(() => osThreads() <= before, 10_000);
  });
});

describe('the inferencer’s inference thread', () => {
  let nats: TestNats;
  let host: ActorHost;
  beforeAll(async () => {
    nats = await startTestNats();
    await applyPlan(nats.bus, await testPlan('worker-btc', BTC, '1H'));
    await publishCandles(nats.bus, hourlyCandles(BTC, START, 60));
  });
  afterAll(async () => {
    await host?.stop();
    await nats?.stop();
  });

  const ask = async () =>
    (await nats.bus.nc.request(FORECAST_REQUEST_SUBJECT, JSON.stringify({ inst: BTC, tf: '1H' }), { timeout: 30_000 })).json<{
      ok: boolean;
      forecast?: { asOf: number };
    }>();
  const thread = () => host.instances()[0]?.status().detail.thread as { kind: string; threadId?: number; alive: boolean } | undefined;

  it('starts with the actor, forecasts there, restarts with a fresh thread after a crash, and stopping leaves none', async () => {
    const before = liveInferenceWorkers().size;
    host = new ActorHost({ bus: nats.bus, log: captureLogger('error').log });
    await host.loadPlugin(INFERENCER_DIR);
    await host.start();
    expect(liveInferenceWorkers().size).toBe(before + 1);
    const first = thread();
    expect(first).toMatchObject({ kind: 'worker', alive: true, nice: 10 });
    expect((await ask()).forecast?.asOf).toBe(START + 59 * HOUR);

    // The thread dies: the actor sees it (failed → restarting → running) and starts another.
    const [worker] = [...liveInferenceWorkers()].filter((w) => w.thread.threadId === first?.threadId);
    worker?.crashForTest('the thread died');
    await eventually(() => {
      const t = thread();
      return host.instances()[0]?.state === 'running' && t?.alive === true && t.threadId !== first?.threadId;
    }, 30_000);
    expect(JSON.stringify(host.instances()[0]?.status().lastError)).toMatch(/inference worker exited/);
    expect(liveInferenceWorkers().size).toBe(before + 1);
    expect((await ask()).ok).toBe(true);

    await host.stop();
    expect(liveInferenceWorkers().size).toBe(before);
  });

  it('thread: inline runs the runtime on the host’s event loop and starts no thread', async () => {
    const before = liveInferenceWorkers().size;
    host = new ActorHost({ bus: nats.bus, log: captureLogger('error').log, config: { inferencer: { thread: 'inline' } } });
    await host.loadPlugin(INFERENCER_DIR);
    await host.start();
    expect(thread()).toEqual({ kind: 'inline' });
    expect(liveInferenceWorkers().size).toBe(before);
    expect((await ask()).forecast?.asOf).toBe(START + 59 * HOUR);
    await host.stop();
  });
});
