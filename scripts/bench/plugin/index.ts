import { consume, defineActorKind, defineContract, definePlugin } from '@kokex/core';
import { z } from 'zod';

/** Benchmark sink: decodes each message through its contract and records when it was handled. */
export const BenchContract = defineContract({ type: 'bench.msg', version: 1, schema: z.object({ n: z.number().int() }) });

export interface BenchProbe {
  handled: Array<{ n: number; at: number }>;
}
// Shared through globalThis: a reload loads this module again, and both copies must feed one probe.
const holder = globalThis as { __kokexBench?: BenchProbe };
holder.__kokexBench ??= { handled: [] };
const probe = holder.__kokexBench;

const sink = defineActorKind({
  kind: 'bench-sink',
  description: 'benchmark sink',
  configSchema: z.object({ stream: z.string(), filter: z.string(), durable: z.string(), maxInFlight: z.number().default(256) }),
  create: (ctx) => ({
    consumers: [
      consume(
        {
          stream: ctx.config.stream,
          durable: ctx.config.durable,
          filter: ctx.config.filter,
          contract: BenchContract,
          maxInFlight: ctx.config.maxInFlight,
        },
        async (env) => {
          probe.handled.push({ n: env.data.n, at: performance.now() });
        },
      ),
    ],
  }),
});

export default definePlugin({ name: 'kokex-bench-sink', version: '1.0.0', actors: [sink] });
