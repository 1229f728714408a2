import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Bus,
  Buckets,
  type ModelReady,
  ModelReadyContract,
  type ModelRecord,
  modelKey,
  ObjectStores,
  registerModelDirectory,
  subject,
} from '@kokex/core';
import { ModelStoreError } from './errors.js';
import { flattenMetrics } from './progress.js';

/**
 * Stores an exported model and announces it. Core's registry writes the artifacts first and the
 * record last, so a record never points at missing files; this adds the other half of "never half
 * registered": when anything fails before the record is written, the artifacts this call added
 * are deleted again (those that were already there, from an identical earlier export, stay).
 */
export interface StoreModelOptions {
  name: string;
  inst: string;
  tf: string;
  maxAgeMs: number;
  now: number;
}

export interface StoredModel {
  record: ModelRecord;
  /** False when this exact version was already registered and still serving (nothing new stored). */
  isNew: boolean;
}

async function cardVersion(dir: string): Promise<string> {
  try {
    const card = JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')) as { version?: unknown };
    if (typeof card.version === 'string' && card.version) return card.version;
  } catch (err) {
    throw new ModelStoreError(`the export in ${dir} has no readable card.json`, err);
  }
  throw new ModelStoreError(`the card in ${dir} has no version`);
}

async function artifactNames(bus: Bus, prefix: string): Promise<Set<string>> {
  const os = await bus.objectStore(ObjectStores.artifacts);
  const names = new Set<string>();
  for (const info of await os.list()) if (info.name.startsWith(prefix)) names.add(info.name);
  return names;
}

export async function storeModel(bus: Bus, dir: string, options: StoreModelOptions): Promise<StoredModel> {
  const version = await cardVersion(dir);
  const prefix = `${options.name}/${version}/`;
  const before = await artifactNames(bus, prefix);
  const kv = await bus.kv(Buckets.models);
  const key = modelKey(options.name, options.inst, options.tf);
  const previous = await kv.get(key);
  try {
    const record = await registerModelDirectory(bus, dir, {
      name: options.name,
      inst: options.inst,
      tf: options.tf,
      maxAgeMs: options.maxAgeMs,
      now: options.now,
    });
    return { record, isNew: previous?.revision !== (await kv.get(key))?.revision };
  } catch (err) {
    const os = await bus.objectStore(ObjectStores.artifacts);
    for (const name of await artifactNames(bus, prefix).catch(() => new Set<string>())) {
      if (!before.has(name)) await os.delete(name).catch(() => undefined);
    }
    throw new ModelStoreError(
      `registering ${options.name} ${version.slice(0, 12)} for ${options.inst} ${options.tf}: ${(err as Error).message}`,
      err,
    );
  }
}

/** The `model.ready` message for a record. */
export function modelReadyOf(record: ModelRecord): ModelReady {
  return {
    inst: record.inst,
    tf: record.tf,
    name: record.name,
    version: record.version,
    artifacts: Object.values(record.artifacts).sort(),
    createdAt: record.registeredAt,
    expiresAt: record.expiresAt,
    metrics: flattenMetrics(record.card.metrics),
  };
}

/** Publishes `kokex.model.ready.{inst}.{tf}`, retrying a few times: the record is stored, and consumers learn of it only from this message. */
export async function publishModelReady(
  bus: Bus,
  record: ModelRecord,
  meta: { jobId: string; source: string; time: number },
  attempts = 3,
): Promise<ModelReady> {
  const ready = modelReadyOf(record);
  const subj = subject('modelReady', { inst: record.inst, tf: record.tf });
  // One id per job: a retried publish that did reach the stream is not stored twice.
  const envelope = { id: `${meta.jobId}:ready`, correlationId: meta.jobId, source: meta.source, time: meta.time };
  for (let attempt = 1; ; attempt++) {
    try {
      await bus.publish(ModelReadyContract, subj, ready, envelope);
      return ready;
    } catch (err) {
      if (attempt >= attempts) {
        throw new ModelStoreError(`version ${record.version.slice(0, 12)} is registered but model.ready could not be published`, err);
      }
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}
