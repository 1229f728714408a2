import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Bus, connectBus } from '../bus/bus.js';
import { NatsServerProcess } from '../bus/nats-server.js';
import { createLogger, type Logger } from '../log/logger.js';

/**
 * Test support: a real nats-server per suite (free port, temporary store), and a logger whose
 * lines can be read back. There is deliberately no in-memory bus.
 */
export interface TestNats {
  server: NatsServerProcess;
  url: string;
  storeDir: string;
  /** A connected, provisioned bus; closed by `stop()`. */
  bus: Bus;
  connect(name?: string): Promise<Bus>;
  stop(): Promise<void>;
}

export async function startTestNats(options: { provision?: boolean } = {}): Promise<TestNats> {
  const storeDir = await mkdtemp(join(tmpdir(), 'kokex-nats-'));
  const server = await NatsServerProcess.start({ storeDir });
  const extra: Bus[] = [];
  const connect = async (name?: string) => {
    const b = await connectBus({ url: server.url, name: name ?? 'kokex-test' });
    extra.push(b);
    return b;
  };
  const bus = await connect('kokex-test-main');
  if (options.provision !== false) await bus.provision();
  return {
    server,
    url: server.url,
    storeDir,
    bus,
    connect,
    async stop() {
      for (const b of extra) await b.close().catch(() => undefined);
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export interface CapturedLogger {
  log: Logger;
  lines(): string[];
  records(): Array<Record<string, unknown>>;
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level, destination });
  const lines = () => chunks.join('').split('\n').filter(Boolean);
  return { log, lines, records: () => lines().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Polls until `check` returns a truthy value and returns it; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Polls until `check` returns true or the time runs out (for state that arrives over the bus). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export { approvingVerdict, sampleForecast } from './fixtures.js';
export type {
  ConformanceRunner,
  ExchangeConformanceOptions,
  ExchangeConformancePeer,
  ExchangeConformanceSubject,
} from './conformance/exchange.js';
export { exchangeConformance } from './conformance/exchange.js';
export { llmConformance } from './conformance/llm.js';
export type { LlmConformanceOptions, LlmConformancePeer, LlmConformanceSubject, LlmConformanceUsage } from './conformance/llm.js';
