import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, KokexError } from '../errors.js';
import type { KvSpec, ObjectStoreSpec, StreamSpec, Topology } from './topology.js';

export interface ProvisionResult {
  kind: 'stream' | 'kv' | 'object-store';
  name: string;
  action: 'created' | 'updated' | 'unchanged';
  /** Fields that differed, for `updated`. */
  changes: string[];
}

export class ProvisionError extends KokexError {
  constructor(kind: string, name: string, cause: unknown) {
    super(ErrorCode.Provision, `cannot provision ${kind} ${name}: ${(cause as Error)?.message ?? cause}`, {
      cause,
      data: { kind, name },
    });
  }
}

/**
 * How many copies of each stream, KV bucket and object store a clustered JetStream keeps
 * (`num_replicas`, 1-5). Default: `KOKEX_STREAM_REPLICAS`, else 1 (a single server). When set, it is
 * managed like the other fields: an existing stream with another count is updated to it (JetStream
 * changes the replica count of a live stream in place); when unset, an existing count is left as it is.
 */
export interface ProvisionOptions {
  replicas?: number;
}

/** The replica count asked for (option, else KOKEX_STREAM_REPLICAS), or undefined when neither is set. */
export function provisionReplicas(options: ProvisionOptions = {}, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = options.replicas ?? (env.KOKEX_STREAM_REPLICAS ? Number(env.KOKEX_STREAM_REPLICAS) : undefined);
  if (raw === undefined) return undefined;
  if (!Number.isInteger(raw) || raw < 1 || raw > 5)
    throw new ProvisionError('stream', '*', new Error(`replicas must be a whole number 1-5 (KOKEX_STREAM_REPLICAS), got ${String(raw)}`));
  return raw;
}

/** The fields we manage, in the server's units, so a spec compares field by field with StreamInfo. */
interface ManagedFields {
  subjects?: string[];
  max_age: number;
  duplicate_window?: number;
  max_bytes: number;
  max_msgs?: number;
  max_msgs_per_subject: number;
  max_msg_size?: number;
  description?: string;
  num_replicas?: number;
}

function streamFields(spec: StreamSpec): ManagedFields {
  return {
    subjects: [...spec.subjects].sort(),
    max_age: nanos(spec.maxAgeMs ?? 0),
    // The server refuses a de-duplication window longer than the stream's max age.
    duplicate_window: nanos(Math.min(spec.duplicateWindowMs ?? 120_000, spec.maxAgeMs || Number.MAX_SAFE_INTEGER)),
    max_bytes: spec.maxBytes ?? -1,
    max_msgs: spec.maxMsgs ?? -1,
    max_msgs_per_subject: spec.maxMsgsPerSubject ?? -1,
    max_msg_size: spec.maxMsgSize ?? -1,
    description: spec.description ?? '',
  };
}

function diff(want: ManagedFields, have: Partial<StreamConfig>): string[] {
  const changes: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    let current = (have as Record<string, unknown>)[key];
    if (key === 'subjects' && Array.isArray(current)) current = [...current].sort();
    if (key === 'description') current = current ?? '';
    if (JSON.stringify(current) !== JSON.stringify(value)) changes.push(key);
  }
  return changes;
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (err) {
    if ((err as { code?: number; api_error?: { err_code?: number } }).api_error?.err_code === 10059) return undefined;
    if (/stream not found/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

async function reconcile(
  jsm: JetStreamManager,
  kind: ProvisionResult['kind'],
  name: string,
  streamName: string,
  want: ManagedFields,
  create: () => Promise<unknown>,
): Promise<ProvisionResult> {
  try {
    const have = await streamConfig(jsm, streamName);
    if (!have) {
      await create();
      // Creation helpers (KV, object store) set their own defaults; bring the rest in line too.
      const created = await streamConfig(jsm, streamName);
      if (created && diff(want, created).length > 0) await jsm.streams.update(streamName, { ...created, ...want });
      return { kind, name, action: 'created', changes: [] };
    }
    const changes = diff(want, have);
    if (changes.length === 0) return { kind, name, action: 'unchanged', changes };
    await jsm.streams.update(streamName, { ...have, ...want });
    return { kind, name, action: 'updated', changes };
  } catch (err) {
    throw err instanceof ProvisionError ? err : new ProvisionError(kind, name, err);
  }
}

/** `{num_replicas}` when a count is asked for, else nothing (the field is then not managed). */
const replicaField = (replicas: number | undefined) => (replicas === undefined ? {} : { num_replicas: replicas });

export async function provisionStream(jsm: JetStreamManager, spec: StreamSpec, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  const replicas = provisionReplicas(options);
  const want = { ...streamFields(spec), ...replicaField(replicas) };
  return reconcile(jsm, 'stream', spec.name, spec.name, want, () =>
    jsm.streams.add({
      name: spec.name,
      ...want,
      subjects: spec.subjects,
      retention: RetentionPolicy.Limits,
      storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
      discard: DiscardPolicy.Old,
      num_replicas: replicas ?? 1,
    }),
  );
}

export async function provisionKv(nc: NatsConnection, jsm: JetStreamManager, spec: KvSpec, options: ProvisionOptions = {}): Promise<ProvisionResult> {
  const replicas = provisionReplicas(options);
  const want: ManagedFields = {
    ...replicaField(replicas),
    max_age: nanos(spec.ttlMs ?? 0),
    max_bytes: spec.maxBytes ?? -1,
    max_msgs_per_subject: spec.history ?? 1,
    description: spec.description ?? '',
  };
  return reconcile(jsm, 'kv', spec.bucket, `KV_${spec.bucket}`, want, () =>
    new Kvm(nc).create(spec.bucket, {
      history: spec.history ?? 1,
      ttl: spec.ttlMs ?? 0,
      description: spec.description,
      ...(spec.maxBytes ? { max_bytes: spec.maxBytes } : {}),
      ...(replicas ? { replicas } : {}),
    }),
  );
}

export async function provisionObjectStore(
  nc: NatsConnection,
  jsm: JetStreamManager,
  spec: ObjectStoreSpec,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const replicas = provisionReplicas(options);
  const want: ManagedFields = {
    ...replicaField(replicas),
    max_age: nanos(spec.ttlMs ?? 0),
    max_bytes: spec.maxBytes ?? -1,
    max_msgs_per_subject: -1,
    description: spec.description ?? '',
  };
  return reconcile(jsm, 'object-store', spec.bucket, `OBJ_${spec.bucket}`, want, () =>
    new Objm(nc).create(spec.bucket, { description: spec.description, ...(replicas ? { replicas } : {}) }),
  );
}

/** Makes the server hold exactly what `topology` describes; safe to run on every start. */
export async function provision(nc: NatsConnection, jsm: JetStreamManager, topology: Topology, options: ProvisionOptions = {}): Promise<ProvisionResult[]> {
  const results: ProvisionResult[] = [];
  for (const s of topology.streams) results.push(await provisionStream(jsm, s, options));
  for (const k of topology.kv) results.push(await provisionKv(nc, jsm, k, options));
  for (const o of topology.objectStores) results.push(await provisionObjectStore(nc, jsm, o, options));
  return results;
}
