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

export interface RegisterDirectoryOptions {
  /** Registry name. Default: the card's `name`, else `kronos`. */
  name?: string;
  /** Default: `_` (any instrument). */
  inst?: string;
  /** Default: `_` (any timeframe). */
  tf?: string;
  /** How long the version may serve from now. */
  maxAgeMs: number;
  now?: number;
}

/**
 * Registers an exported model directory (the ONNX graphs plus `card.json`, as `models/kronos`
 * exports them): the trainer after a run, and every start for the shipped model. The version is
 * the card's content hash, so registering the same export twice uploads nothing and only renews
 * the expiry.
 */
export async function registerModelDirectory(bus: Bus, dir: string, options: RegisterDirectoryOptions): Promise<ModelRecord> {
  const { readFile, readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let card: Record<string, unknown>;
  try {
    card = JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new KokexError(
      ErrorCode.ModelNotFound,
      `${dir} has no readable card.json (${(err as Error).message}); export the model with \`python3 -m kronos export\``,
      {
        data: { dir },
      },
    );
  }
  const version = typeof card.version === 'string' ? card.version : '';
  if (!version) throw new KokexError(ErrorCode.ModelNotFound, `${dir}/card.json has no version`, { data: { dir } });
  const files: Record<string, Uint8Array> = {};
  for (const file of (await readdir(dir)).sort()) {
    if (file.endsWith('.onnx') || file === 'card.json' || file === 'config.json') files[file] = await readFile(join(dir, file));
  }
  const name = options.name ?? (typeof card.name === 'string' && card.name ? card.name : 'kronos');
  const inst = options.inst ?? ANY;
  const tf = options.tf ?? ANY;
  const now = options.now ?? Date.now();
  const kv = await bus.kv(Buckets.models);
  const current = await kv.get(modelKey(name, inst, tf));
  if (current?.operation === 'PUT' && current.length > 0) {
    const existing = current.json<ModelRecord>();
    if (existing.version === version) {
      // Same weights again (a retrain that converged to the same export, or a restart registering
      // the shipped model): keep the stored files, renew how long the version may serve.
      const renewed: ModelRecord = { ...existing, registeredAt: now, expiresAt: now + options.maxAgeMs };
      await kv.put(modelKey(name, inst, tf), new TextEncoder().encode(JSON.stringify(renewed)));
      return renewed;
    }
  }
  return registerModel(bus, { name, inst, tf, version, card, registeredAt: now, expiresAt: now + options.maxAgeMs }, files);
}
