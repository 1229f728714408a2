import type { Bus } from '../bus/bus.js';
import { subject } from '../bus/subjects.js';
import { Buckets } from '../bus/topology.js';
import { PlanChangedContract } from '../contracts/system.js';
import type { Plan } from './schema.js';

/**
 * Plans live in the `kokex-plans` KV bucket under their name. Applying publishes a
 * `plan.changed` notice naming the spec sections that changed, and hosts watching the bucket
 * reconfigure only the actors whose derived configuration changed.
 */
export interface StoredPlan {
  plan: Plan;
  /** Where it came from (a file path, `cli`, …). */
  source: string;
  appliedAt: number;
}

export interface ApplyResult {
  name: string;
  revision: number;
  action: 'created' | 'updated' | 'unchanged';
  changedSections: string[];
}

const encoder = new TextEncoder();

export function changedSections(before: Plan | undefined, after: Plan): string[] {
  if (!before) return Object.keys(after.spec).sort();
  const keys = new Set([...Object.keys(before.spec), ...Object.keys(after.spec)]);
  const changed: string[] = [];
  for (const k of [...keys].sort()) {
    const a = (before.spec as Record<string, unknown>)[k];
    const b = (after.spec as Record<string, unknown>)[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) changed.push(k);
  }
  if (JSON.stringify(before.metadata) !== JSON.stringify(after.metadata)) changed.push('metadata');
  return changed;
}

export async function getStoredPlan(bus: Bus, name: string): Promise<{ stored: StoredPlan; revision: number } | undefined> {
  const kv = await bus.kv(Buckets.plans);
  const entry = await kv.get(name);
  if (entry?.operation !== 'PUT' || entry.length === 0) return undefined;
  return { stored: entry.json<StoredPlan>(), revision: entry.revision };
}

export async function applyPlan(bus: Bus, plan: Plan, source = 'cli'): Promise<ApplyResult> {
  const name = plan.metadata.name;
  const previous = await getStoredPlan(bus, name);
  const changed = changedSections(previous?.stored.plan, plan);
  if (previous && changed.length === 0) {
    return { name, revision: previous.revision, action: 'unchanged', changedSections: [] };
  }
  const kv = await bus.kv(Buckets.plans);
  const stored: StoredPlan = { plan, source, appliedAt: Date.now() };
  const revision = await kv.put(name, encoder.encode(JSON.stringify(stored)));
  await bus.publish(
    PlanChangedContract,
    subject('planChanged', { plan: name }),
    { plan: name, action: 'applied', revision, changedSections: changed },
    { id: `plan:${name}:${revision}`, source },
  );
  return { name, revision, action: previous ? 'updated' : 'created', changedSections: changed };
}

export async function deletePlan(bus: Bus, name: string): Promise<boolean> {
  const previous = await getStoredPlan(bus, name);
  if (!previous) return false;
  const kv = await bus.kv(Buckets.plans);
  await kv.delete(name);
  await bus.publish(
    PlanChangedContract,
    subject('planChanged', { plan: name }),
    { plan: name, action: 'deleted', revision: previous.revision + 1, changedSections: [] },
    { id: `plan:${name}:deleted:${previous.revision}` },
  );
  return true;
}

export async function listPlans(bus: Bus): Promise<Array<StoredPlan & { revision: number }>> {
  return (await bus.kvEntries(Buckets.plans)).map((e) => ({ ...e.json<StoredPlan>(), revision: e.revision }));
}
