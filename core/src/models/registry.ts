import type { Bus } from '../bus/bus.js';
import { Buckets, ObjectStores } from '../bus/topology.js';
import { ErrorCode, KokexError } from '../errors.js';

/**
 * The model registry: which model versions exist for which instrument and timeframe, where their
 * artifacts are, and until when they may serve. Records live in the `kokex-models` KV bucket under
 * `{name}.{inst}.{tf}` (the newest version; KV history keeps the previous ones), with `_` standing
 * for "any" so a general model (the shipped one) serves where no specific one was trained.
 * Artifacts live in the `kokex-artifacts` object store under `{name}/{version}/{file}`.
 */
export const ANY = '_';

export interface ModelRecord {
  name: string;
  /** Instrument, or `_` for any. */
  inst: string;
  /** Timeframe, or `_` for any. */
  tf: string;
  /** Content hash of the graphs (the card's version). */
  version: string;
  /** File name → object-store name. */
  artifacts: Record<string, string>;
  /** The model card (config, data window, metrics) as exported. */
  card: Record<string, unknown>;
  registeredAt: number;
  expiresAt: number;
}

export class ModelNotFoundError extends KokexError {
  constructor(name: string, inst: string, tf: string, detail: string) {
    super(ErrorCode.ModelNotFound, `no servable model ${name} for ${inst} ${tf}: ${detail}`, { data: { name, inst, tf } });
  }
}

export function modelKey(name: string, inst: string, tf: string): string {
  return `${name}.${inst}.${tf}`;
}

export function artifactName(name: string, version: string, file: string): string {
  return `${name}/${version}/${file}`;
}

/** Stores the files in the object store, then the record in the registry (in that order, so a record never points at missing files). */
export async function registerModel(
  bus: Bus,
  record: Omit<ModelRecord, 'artifacts'>,
  files: Record<string, Uint8Array>,
): Promise<ModelRecord> {
  const os = await bus.objectStore(ObjectStores.artifacts);
  const artifacts: Record<string, string> = {};
  for (const [file, bytes] of Object.entries(files)) {
    const objectName = artifactName(record.name, record.version, file);
    await os.putBlob({ name: objectName }, bytes);
    artifacts[file] = objectName;
  }
  const full: ModelRecord = { ...record, artifacts };
  const kv = await bus.kv(Buckets.models);
  await kv.put(modelKey(record.name, record.inst, record.tf), new TextEncoder().encode(JSON.stringify(full)));
  return full;
}

/** The newest unexpired record: the exact instrument and timeframe, else the instrument for any timeframe, else any. */
export async function latestModel(bus: Bus, name: string, inst: string, tf: string, now = Date.now()): Promise<ModelRecord> {
  const kv = await bus.kv(Buckets.models);
  const expired: string[] = [];
  for (const key of [modelKey(name, inst, tf), modelKey(name, inst, ANY), modelKey(name, ANY, ANY)]) {
    const entry = await kv.get(key);
    if (entry?.operation !== 'PUT' || entry.length === 0) continue;
    const record = entry.json<ModelRecord>();
    if (record.expiresAt > now) return record;
    expired.push(`${key} version ${record.version.slice(0, 12)} expired ${new Date(record.expiresAt).toISOString()}`);
  }
  throw new ModelNotFoundError(
    name,
    inst,
    tf,
    expired.length ? expired.join('; ') : 'nothing registered (train one, or start with the shipped model)',
  );
}

export async function fetchArtifact(bus: Bus, objectName: string): Promise<Uint8Array> {
  const os = await bus.objectStore(ObjectStores.artifacts);
  const bytes = await os.getBlob(objectName);
  if (!bytes)
    throw new KokexError(ErrorCode.ModelNotFound, `artifact ${objectName} is missing from the object store`, { data: { objectName } });
  return bytes;
}
