import { type Bus, Buckets } from '@kokex/core';
import { type ControlRecord, initialControl } from './trading-state.js';

/**
 * Trading state and kill switch per plan, in the `kokex-risk` bucket under `control.{plan}`. The
 * guard creates the record from `risk.initialState` the first time it sees a plan (create, so an
 * existing record always wins); `kokex risk` rewrites it; the guard and the executor watch it.
 */
export const CONTROL_PREFIX = 'control';

export function controlKey(plan: string): string {
  return `${CONTROL_PREFIX}.${plan}`;
}

const encoder = new TextEncoder();

function decode(bytes: Uint8Array): ControlRecord | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as ControlRecord;
    return typeof value?.state === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function readControl(bus: Bus, plan: string): Promise<ControlRecord | undefined> {
  const entry = await (await bus.kv(Buckets.risk)).get(controlKey(plan));
  return entry?.operation === 'PUT' ? decode(entry.value) : undefined;
}

export async function writeControl(bus: Bus, plan: string, record: ControlRecord): Promise<void> {
  await (await bus.kv(Buckets.risk)).put(controlKey(plan), encoder.encode(JSON.stringify(record)));
}

/** Creates the plan's record unless one exists; returns the record in force. */
export async function ensureControl(bus: Bus, plan: string, initial: ControlRecord['state'], at: number): Promise<ControlRecord> {
  const kv = await bus.kv(Buckets.risk);
  const fresh = initialControl(initial, at);
  try {
    await kv.create(controlKey(plan), encoder.encode(JSON.stringify(fresh)));
    return fresh;
  } catch {
    return (await readControl(bus, plan)) ?? fresh;
  }
}

/** Calls `onChange(plan, record)` for every record now and every change after; returns the stop function. */
export async function watchControls(bus: Bus, onChange: (plan: string, record: ControlRecord | undefined) => void): Promise<() => void> {
  const kv = await bus.kv(Buckets.risk);
  const watch = await kv.watch({ key: `${CONTROL_PREFIX}.>` });
  void (async () => {
    for await (const e of watch) {
      const plan = e.key.slice(CONTROL_PREFIX.length + 1);
      onChange(plan, e.operation === 'PUT' ? decode(e.value) : undefined);
    }
  })();
  return () => watch.stop();
}
