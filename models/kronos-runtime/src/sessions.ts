import { availableParallelism } from 'node:os';
import type { ExecutionProvider } from '@kokex/core';
import { InferenceSession } from 'onnxruntime-node';
import { GRAPH_NAMES, type GraphName } from './card.js';
import { ExecutionProviderError, KronosGraphError, type ProviderAttempt } from './errors.js';

/**
 * ONNX Runtime sessions for the five graphs, on the first execution provider of the configured
 * list that can run all of them. A provider that cannot (no CUDA binaries in this install, no
 * Vulkan for WebGPU) is skipped with a logged reason and a hint; the chosen one is logged.
 */
export type KronosSessions = Record<GraphName, InferenceSession>;

/** The part of a pino logger the runtime uses. */
export interface RuntimeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SessionOptions {
  /** In order of preference. Default: ['cpu']. */
  executionProviders?: readonly ExecutionProvider[];
  /**
   * Threads inside one operator. Default: the logical CPUs (`os.availableParallelism()`). ONNX
   * Runtime's own default is the physical cores, which is 1 on a 2-vCPU machine reporting 1 core
   * with 2 threads: measured 1.8× slower than 2 threads there (docs/forecasting.md).
   */
  intraOpThreads?: number;
  /** Threads across operators (only used with executionMode 'parallel'). Default: 1. */
  interOpThreads?: number;
  /**
   * Whether idle intra-op threads spin waiting for work. Default: false. Measured on 2 shared cores
   * (docs/forecasting.md): spinning threads burn the core the other thread (or process) needs.
   */
  spinning?: boolean;
  /** ONNX Runtime graph optimization level. Default: 'all'. */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** The CPU memory arena and the memory pattern planner. Default: both on. */
  memoryArena?: boolean;
  memoryPattern?: boolean;
  /** Default: 'sequential'. */
  executionMode?: 'sequential' | 'parallel';
  /** Where the provider choice and skipped providers are reported. Default: nowhere. */
  log?: RuntimeLogger;
}

/** The session settings used when an option is not given (chosen from measurements, docs/forecasting.md). */
export const SESSION_DEFAULTS = Object.freeze({
  spinning: false,
  optimizationLevel: 'all',
  memoryArena: true,
  memoryPattern: true,
  executionMode: 'sequential',
  interOpThreads: 1,
} as const);

/** The ONNX Runtime session options for a provider and the runtime's options. */
export function sessionOptions(provider: ExecutionProvider, options: SessionOptions = {}): InferenceSession.SessionOptions {
  const spinning = options.spinning ?? SESSION_DEFAULTS.spinning;
  return {
    executionProviders: [provider],
    graphOptimizationLevel: options.optimizationLevel ?? SESSION_DEFAULTS.optimizationLevel,
    executionMode: options.executionMode ?? SESSION_DEFAULTS.executionMode,
    interOpNumThreads: options.interOpThreads ?? SESSION_DEFAULTS.interOpThreads,
    enableCpuMemArena: options.memoryArena ?? SESSION_DEFAULTS.memoryArena,
    enableMemPattern: options.memoryPattern ?? SESSION_DEFAULTS.memoryPattern,
    intraOpNumThreads: options.intraOpThreads ?? availableParallelism(),
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' }, inter_op: { allow_spinning: spinning ? '1' : '0' } } },
  };
}

export interface OpenedSessions {
  sessions: KronosSessions;
  provider: ExecutionProvider;
  /** Providers tried before the chosen one, with why they could not run. */
  skipped: ProviderAttempt[];
}

const HINTS: Record<ExecutionProvider, string> = {
  cuda: 'onnxruntime-node has no CUDA binaries in this install (they download at install time: npm install --onnxruntime-node-install=cuda12 on a machine with internet and CUDA 12)',
  webgpu: 'WebGPU runs through Dawn over Vulkan: it needs a GPU, libvulkan.so.1 (apt-get install libvulkan1) and the driver’s Vulkan ICD',
  cpu: 'the CPU provider ships with onnxruntime-node; a failure here means the graph itself did not load',
};

function firstLine(err: unknown): string {
  const text = (err as Error)?.message ?? String(err);
  return (text.split('\n').find((l) => l.trim()) ?? text).trim().slice(0, 300);
}

async function openAll(graphs: Record<GraphName, string | Uint8Array>, options: InferenceSession.SessionOptions): Promise<KronosSessions> {
  const opened: Partial<KronosSessions> = {};
  try {
    for (const name of GRAPH_NAMES) {
      const source = graphs[name];
      opened[name] =
        typeof source === 'string' ? await InferenceSession.create(source, options) : await InferenceSession.create(source, options);
    }
    return opened as KronosSessions;
  } catch (err) {
    await Promise.all(Object.values(opened).map((s) => s?.release().catch(() => undefined)));
    throw err;
  }
}

/** Opens every graph on the first provider that can run them all. */
export async function openSessions(graphs: Record<GraphName, string | Uint8Array>, options: SessionOptions = {}): Promise<OpenedSessions> {
  const providers = options.executionProviders?.length ? options.executionProviders : (['cpu'] as const);
  const skipped: ProviderAttempt[] = [];
  for (const provider of providers) {
    try {
      const sessions = await openAll(graphs, sessionOptions(provider, options));
      options.log?.info({ executionProvider: provider, skipped }, `Kronos runs on the ${provider} execution provider`);
      return { sessions, provider, skipped };
    } catch (err) {
      const reason = firstLine(err);
      // The CPU provider always exists: its failure is the graph's fault, not the provider's.
      if (provider === 'cpu') throw new KronosGraphError('(all)', `ONNX Runtime could not load the graphs on the CPU: ${reason}`, err);
      skipped.push({ provider, reason });
      options.log?.warn(
        { executionProvider: provider, reason, hint: HINTS[provider] },
        `execution provider ${provider} is unavailable (${reason}); ${HINTS[provider]}; trying the next one`,
      );
    }
  }
  throw new ExecutionProviderError(skipped);
}

export async function closeSessions(sessions: KronosSessions): Promise<void> {
  await Promise.all(Object.values(sessions).map((s) => s.release().catch(() => undefined)));
}
