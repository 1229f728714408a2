import { hostname } from 'node:os';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import { type ObjectStore, Objm } from '@nats-io/obj';
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { resolveNatsUrl } from '../config.js';
import type { Contract, Envelope, EnvelopeMeta } from '../contracts/envelope.js';
import { inboxPrefixFor } from '../deploy/access.js';
import { embeddedCredentials } from '../deploy/embedded.js';
import { ErrorCode, KokexError } from '../errors.js';
import { inPublishSpan, traceHeaders } from '../telemetry/tracing.js';
import { type ProvisionOptions, type ProvisionResult, provision } from './provision.js';
import { KOKEX_TOPOLOGY, streamOf, type Topology } from './topology.js';

/** JetStream's "no message" answers (10037) and a missing stream (10059) both mean: nothing stored. */
function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  const code = e?.api_error?.err_code;
  return code === 10037 || code === 10059 || e?.code === '404' || /no message found|stream not found/i.test(String(e?.message));
}

export class NatsUnreachableError extends KokexError {
  constructor(url: string, cause: unknown) {
    super(
      ErrorCode.NatsUnreachable,
      `cannot reach NATS at ${url} (${(cause as Error)?.message ?? cause}); start the runtime with \`npx kokex up\` or set NATS_URL to a server with JetStream`,
      { retryable: true, cause, data: { url } },
    );
  }
}

/** A message as JetStream stored it: what `bus.last()` answers. */
export interface StoredMessage {
  stream: string;
  seq: number;
  subject: string;
  data: Uint8Array;
  /** When the server stored it (ms): wall time, for ages of infrastructure records only. */
  storedAt: number;
}

export interface PublishResult<T> {
  envelope: Envelope<T>;
  stream: string;
  seq: number;
  /** True when JetStream already held a message with this id (nothing was stored twice). */
  duplicate: boolean;
}

/** The connection every actor, CLI command and test uses: core NATS, JetStream, KV and object store. */
export interface Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly url: string;
  /** Publishes to JetStream with the envelope id as the de-duplication id. */
  publish<T, I = T>(contract: Contract<T, I>, subject: string, data: I, meta?: EnvelopeMeta): Promise<PublishResult<T>>;
  /** Publishes on core NATS (no stream): live candle updates, streamed tokens. */
  emit<T, I = T>(contract: Contract<T, I>, subject: string, data: I, meta?: EnvelopeMeta): Envelope<T>;
  /**
   * The last message stored on one concrete subject, or undefined when the stream holds none. Uses
   * `$JS.API.STREAM.MSG.GET` only (no consumer), which every actor's NATS user may do on the streams
   * it reads. The stream is found from the topology (`streamOf`) unless given.
   */
  last(subject: string, stream?: string): Promise<StoredMessage | undefined>;
  kv(bucket: string): Promise<KV>;
  /**
   * The live entries (last value a put, not a delete or purge) of a KV bucket whose keys match
   * `filter` (NATS wildcards; default every key), in key order. The keys come from one stream-info
   * request (`subjects_filter`) and each value from a get, so no consumer is made: `kv.keys()`
   * makes a push consumer and waits for its pending count to reach zero, and under load on a bucket
   * being written that wait was seen to hang for a minute (issue 12, `kokex orders`).
   */
  kvEntries(bucket: string, filter?: string): Promise<KvEntry[]>;
  objectStore(bucket: string): Promise<ObjectStore>;
  /** Makes the server hold `topology`; `options.replicas` (default KOKEX_STREAM_REPLICAS) sets `num_replicas`. */
  provision(topology?: Topology, options?: ProvisionOptions): Promise<ProvisionResult[]>;
  /** Drains subscriptions and closes the connection. */
  close(): Promise<void>;
}

export interface ConnectBusOptions {
  /** Default: NATS_URL, else the embedded server's URL file, else nats://127.0.0.1:4222. */
  url?: string;
  /** Connection name shown in `nats server report connections`. Default: kokex@hostname. */
  name?: string;
  /** Default: 3000 ms. */
  timeoutMs?: number;
  /** Keep reconnecting after a lost connection. Default: true. */
  reconnect?: boolean;
  /** Default: NATS_USER. With a user, replies use the inbox prefix its permissions allow. */
  user?: string;
  /** Default: NATS_PASSWORD. */
  password?: string;
  /**
   * Default: NATS_NKEY_SEED. An NKey seed (`SU…`, from `kokex deploy nats`' users.env): the
   * connection signs the server's challenge with it instead of sending a password. `user` still
   * names the kind, for its inbox prefix.
   */
  nkeySeed?: string;
}

class BusImpl implements Bus {
  readonly js: JetStreamClient;
  #kv = new Map<string, Promise<KV>>();
  #obj = new Map<string, Promise<ObjectStore>>();

  constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly url: string,
  ) {
    this.js = jetstream(nc);
  }

  async publish<T, I = T>(contract: Contract<T, I>, subject: string, data: I, meta?: EnvelopeMeta): Promise<PublishResult<T>> {
    const { envelope, bytes } = contract.encode(data, meta);
    const ack: PubAck = await inPublishSpan({ subject, type: envelope.type, correlationId: envelope.correlationId }, (headers) =>
      this.js.publish(subject, bytes, { msgID: envelope.id, ...(headers ? { headers } : {}) }),
    );
    return { envelope, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  }

  emit<T, I = T>(contract: Contract<T, I>, subject: string, data: I, meta?: EnvelopeMeta): Envelope<T> {
    const { envelope, bytes } = contract.encode(data, meta);
    const headers = traceHeaders();
    this.nc.publish(subject, bytes, headers ? { headers } : undefined);
    return envelope;
  }

  async last(subject: string, stream?: string): Promise<StoredMessage | undefined> {
    const name = stream ?? streamOf(subject);
    if (!name)
      throw new KokexError(ErrorCode.InvalidSubject, `no KOKEX stream stores subject "${subject}"; pass the stream name`, {
        data: { subject },
      });
    try {
      const msg = await this.jsm.streams.getMessage(name, { last_by_subj: subject });
      if (!msg) return undefined;
      return { stream: name, seq: msg.seq, subject: msg.subject, data: msg.data, storedAt: msg.time.getTime() };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  kv(bucket: string): Promise<KV> {
    let kv = this.#kv.get(bucket);
    if (!kv) {
      kv = new Kvm(this.js).open(bucket);
      this.#kv.set(bucket, kv);
      kv.catch(() => this.#kv.delete(bucket));
    }
    return kv;
  }

  async kvEntries(bucket: string, filter = '>'): Promise<KvEntry[]> {
    const kv = await this.kv(bucket);
    const prefix = `$KV.${bucket}.`;
    const info = await this.jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}${filter}` });
    const keys = Object.keys(info.state.subjects ?? {})
      .map((s) => s.slice(prefix.length))
      .sort();
    const out: KvEntry[] = [];
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry?.operation === 'PUT' && entry.length > 0) out.push(entry);
    }
    return out;
  }

  objectStore(bucket: string): Promise<ObjectStore> {
    let os = this.#obj.get(bucket);
    if (!os) {
      os = new Objm(this.js).open(bucket);
      this.#obj.set(bucket, os);
      os.catch(() => this.#obj.delete(bucket));
    }
    return os;
  }

  provision(topology: Topology = KOKEX_TOPOLOGY, options?: ProvisionOptions): Promise<ProvisionResult[]> {
    return provision(this.nc, this.jsm, topology, options);
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

export async function connectBus(options: ConnectBusOptions = {}): Promise<Bus> {
  const url = options.url ?? resolveNatsUrl().url;
  let nc: NatsConnection;
  try {
    // The embedded server of `kokex up` lets in only its generated users: found by its URL.
    const local = options.user || process.env.NATS_USER ? undefined : embeddedCredentials(url);
    const user = options.user ?? process.env.NATS_USER ?? local?.user;
    const pass = options.password ?? process.env.NATS_PASSWORD ?? local?.password;
    const seed = options.nkeySeed ?? process.env.NATS_NKEY_SEED;
    nc = await connect({
      servers: url,
      ...(user && !seed ? { user, pass } : {}),
      ...(user ? { inboxPrefix: inboxPrefixFor(user) } : {}),
      ...(seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) } : {}),
      name: options.name ?? `kokex@${hostname()}`,
      timeout: options.timeoutMs ?? 3000,
      reconnect: options.reconnect ?? true,
      maxReconnectAttempts: -1,
    });
  } catch (err) {
    throw new NatsUnreachableError(url, err);
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: options.timeoutMs ?? 3000 });
    return new BusImpl(nc, jsm, url);
  } catch (err) {
    await nc.close();
    throw new KokexError(
      ErrorCode.NatsUnreachable,
      `NATS at ${url} has no JetStream (${(err as Error).message}); start nats-server with -js`,
      {
        cause: err,
        data: { url },
      },
    );
  }
}
