import { type Bus, Buckets } from '@kokex/core';
import type { SimAccountStore } from './simulator.js';
import type { EngineSnapshot } from './trading/engine.js';

/** The key of one simulated venue's accounts: one per replayed instrument. */
export function simAccountKey(spotInstId: string): string {
  return `okx.${spotInstId}`;
}

/**
 * Simulator accounts in the `kokex-sim` KV bucket, so that a restarted simulator holds what the
 * venue held (a real venue does not forget a position because its gateway restarted), and the
 * books of the risk guard and the venue can be compared after a restart.
 */
export function kvAccountStore(bus: Bus, key: string): SimAccountStore {
  return {
    async load() {
      const kv = await bus.kv(Buckets.simVenues);
      const entry = await kv.get(key);
      if (entry?.operation !== 'PUT' || entry.length === 0) return undefined;
      return entry.json<EngineSnapshot>();
    },
    async save(snapshot) {
      const kv = await bus.kv(Buckets.simVenues);
      await kv.put(key, JSON.stringify(snapshot));
    },
  };
}

/** Forgets a simulated venue's accounts: the next start opens fresh ones (`kokex sim reset`). */
export async function resetSimAccounts(bus: Bus, key: string): Promise<boolean> {
  const kv = await bus.kv(Buckets.simVenues);
  const had = await kv.get(key);
  await kv.purge(key);
  return Boolean(had && had.operation === 'PUT' && had.length > 0);
}
