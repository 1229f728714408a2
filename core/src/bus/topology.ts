/**
 * Declarative description of what the bus must hold: streams, KV buckets and object stores.
 * `provision()` makes the server match it; running it twice changes nothing.
 */
export interface StreamSpec {
  name: string;
  subjects: string[];
  description?: string;
  /** Default: 0 (keep forever). */
  maxAgeMs?: number;
  /** JetStream de-duplication window for message ids. Default: 2 minutes. */
  duplicateWindowMs?: number;
  /** Default: -1 (unlimited). */
  maxBytes?: number;
  /** Messages kept, the oldest discarded first. Default: -1 (unlimited). */
  maxMsgs?: number;
  /** Default: -1 (unlimited). */
  maxMsgsPerSubject?: number;
  /** Default: 'file'. */
  storage?: 'file' | 'memory';
  /**
   * Largest message the stream accepts, in bytes. Default: -1 (the server's max_payload, 1 MiB).
   * Each family gets a bound a few times its largest real message, so one oversized message is
   * refused at publish instead of stalling every consumer behind it.
   */
  maxMsgSize?: number;
}

export interface KvSpec {
  bucket: string;
  description?: string;
  /** Values kept per key. Default: 1. */
  history?: number;
  /** Entries expire after this long. Default: 0 (never). */
  ttlMs?: number;
  maxBytes?: number;
}

export interface ObjectStoreSpec {
  bucket: string;
  description?: string;
  ttlMs?: number;
  maxBytes?: number;
}

export interface Topology {
  streams: StreamSpec[];
  kv: KvSpec[];
  objectStores: ObjectStoreSpec[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const KIB = 1024;

/** Names of the KV buckets and object stores KOKEX uses. */
export const Buckets = {
  plans: 'kokex-plans',
  actors: 'kokex-actors',
  models: 'kokex-models',
  risk: 'kokex-risk',
  positions: 'kokex-positions',
  leases: 'kokex-leases',
  /** Accounts of local venue simulators (balances, orders, positions), kept across restarts. */
  simVenues: 'kokex-sim',
} as const;
export type Buckets = (typeof Buckets)[keyof typeof Buckets];

export const ObjectStores = {
  artifacts: 'kokex-artifacts',
  /** The risk guard's books as of an ORDERS sequence (`core/src/contracts/books-snapshot.ts`); only the guard writes it. */
  books: 'kokex-books',
} as const;
export type ObjectStores = (typeof ObjectStores)[keyof typeof ObjectStores];

export const Streams = {
  /** Bars as feeds and pulls saw them: the validator's inbox. */
  raw: 'MD_RAW',
  candles: 'MD_CANDLES',
  quality: 'MD_QUALITY',
  models: 'MODELS',
  forecasts: 'FORECASTS',
  agent: 'AGENT',
  orders: 'ORDERS',
  clock: 'CLOCK',
  plans: 'PLAN_EVENTS',
  deadLetters: 'DEAD_LETTERS',
} as const;
export type Streams = (typeof Streams)[keyof typeof Streams];

/**
 * How many messages ORDERS keeps at most (plan-independent): a bound on its storage (about 0.5 GiB
 * at the order path's ~500 bytes a message) beside its 30 days. It is 100 times the guard's
 * default snapshot interval (10,000 messages), so a running guard has always snapshotted what
 * retention drops. A start's time is bounded by the snapshot (it reads only what follows it), not
 * by this. Backtests and `kokex orders` read ORDERS itself, so they see at most this many.
 */
export const ORDERS_MAX_MSGS = 1_000_000;

/** Actor heartbeats are rewritten every few seconds; an entry older than this is a dead actor. */
export const ACTOR_STATUS_TTL_MS = 30_000;

export const KOKEX_TOPOLOGY: Topology = {
  streams: [
    // An inbox, not a record: the validator reads it (durable) and MD_CANDLES keeps what it accepted.
    // A week is room for a validator that is down or a `kokex data pull` run before one started.
    {
      name: Streams.raw,
      subjects: ['kokex.md.raw.>'],
      description: 'bars as feeds and pulls saw them, before the validator',
      maxAgeMs: 7 * DAY,
      duplicateWindowMs: HOUR,
      maxMsgSize: 16 * KIB,
    },
    {
      name: Streams.candles,
      subjects: ['kokex.md.candle.>'],
      description: 'closed candles',
      duplicateWindowMs: HOUR,
      maxMsgSize: 16 * KIB,
    },
    { name: Streams.quality, subjects: ['kokex.md.quality.>'], description: 'validator reports', maxAgeMs: 30 * DAY, maxMsgSize: 64 * KIB },
    {
      name: Streams.models,
      subjects: ['kokex.model.>'],
      description: 'training progress and new model versions',
      maxAgeMs: 30 * DAY,
      maxMsgSize: 64 * KIB,
    },
    { name: Streams.forecasts, subjects: ['kokex.forecast.>'], description: 'forecasts with skill summary', maxMsgSize: 256 * KIB },
    { name: Streams.agent, subjects: ['kokex.agent.turn.>'], description: 'agent turns, tool calls and results', maxMsgSize: 512 * KIB },
    {
      name: Streams.orders,
      subjects: ['kokex.order.>'],
      description: 'intents, verdicts, approvals and venue events',
      // Kept 30 days or ORDERS_MAX_MSGS messages, whichever is fewer. The guard starts from its
      // books snapshot (`kokex-books`, written every 10,000 messages or 60 s) and reads only what
      // follows it, so what retention drops is already in the snapshot; the venue's truth comes
      // back with every reconciliation (`kokex.order.reconcile.…`, each minute).
      maxAgeMs: 30 * DAY,
      maxMsgs: ORDERS_MAX_MSGS,
      duplicateWindowMs: DAY,
      maxMsgSize: 16 * KIB,
    },
    {
      name: Streams.clock,
      subjects: ['kokex.clock.>'],
      description: 'bar-boundary ticks',
      maxAgeMs: DAY,
      duplicateWindowMs: 10 * MINUTE,
      maxMsgSize: 4 * KIB,
    },
    { name: Streams.plans, subjects: ['kokex.plan.>'], description: 'plan change notices', maxAgeMs: 30 * DAY, maxMsgSize: 16 * KIB },
    {
      name: Streams.deadLetters,
      subjects: ['kokex.dlq.>'],
      description: 'messages that failed every delivery, with the error',
      maxAgeMs: 30 * DAY,
      // An excerpt of 4 KiB, a bounded error and the envelope: always far below this.
      maxMsgSize: 64 * KIB,
    },
  ],
  kv: [
    { bucket: Buckets.plans, description: 'applied plans by name', history: 10 },
    { bucket: Buckets.actors, description: 'actor status and heartbeats', ttlMs: ACTOR_STATUS_TTL_MS },
    { bucket: Buckets.models, description: 'model registry', history: 5 },
    { bucket: Buckets.risk, description: 'kill switch and trading state per plan', history: 20 },
    { bucket: Buckets.positions, description: 'positions per plan and instrument', history: 5 },
    { bucket: Buckets.leases, description: 'leases that keep replicas from doing the same work twice', ttlMs: MINUTE },
    { bucket: Buckets.simVenues, description: 'simulator accounts kept across restarts, as a venue keeps them' },
  ],
  objectStores: [
    { bucket: ObjectStores.artifacts, description: 'model artifacts (ONNX graphs and cards)' },
    { bucket: ObjectStores.books, description: "the risk guard's books as of an ORDERS sequence" },
  ],
};

/** True when a concrete subject matches a NATS filter (`*` one token, `>` the rest). */
export function subjectMatches(filter: string, concrete: string): boolean {
  const f = filter.split('.');
  const c = concrete.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return c.length > i;
    if (i >= c.length) return false;
    if (f[i] !== '*' && f[i] !== c[i]) return false;
  }
  return f.length === c.length;
}

/** The stream of the topology that stores this concrete subject, if any. */
export function streamOf(concrete: string, topology: Topology = KOKEX_TOPOLOGY): string | undefined {
  return topology.streams.find((s) => s.subjects.some((f) => subjectMatches(f, concrete)))?.name;
}
