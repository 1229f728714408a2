import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';
import { subjectFilter } from '../bus/subjects.js';
import { Buckets } from '../bus/topology.js';
import { ErrorCode, KokexError } from '../errors.js';
import type { ActorKind, Declared } from '../host/actor.js';
import type { Plan } from '../plan/schema.js';

/**
 * What an actor kind may touch on the bus. Declared by each kind (`ActorKind.access`), turned into
 * a NATS user with an allow-list: anything not listed is refused by the server. The order path is
 * the reason this exists: only the risk guard may publish `kokex.order.approved.*`, and only the
 * executor may read it.
 */
export interface ConsumerAccess {
  stream: string;
  durable: string;
  filter: string;
}

export interface ActorAccess {
  /** Subjects the actor publishes (JetStream or core NATS). */
  publish: string[];
  /** Core NATS subscriptions (live candles, tokens, request subjects). */
  subscribe: string[];
  /** Durable pull consumers the actor creates and pulls from. */
  consume: ConsumerAccess[];
  /** KV buckets it reads and writes. */
  kv: string[];
  /** KV buckets it reads and watches only (no put, no delete): the kill switch for the executor. */
  kvRead?: string[];
  /** Object stores it reads and writes. */
  objectStores: string[];
  /**
   * Streams it reads stored messages from by subject or sequence (`bus.last`, `getMessage`): the
   * stream's message-get API only, which creates no consumer and so takes nobody's work.
   */
  reads?: string[];
  /**
   * Streams it reads in order through an ordered consumer (ephemeral, no acks: the risk guard
   * rebuilding its books from ORDERS), with the one filter it reads. Grants creating a consumer of
   * any name with exactly that filter, and pulling from and deleting consumers of that stream by
   * name: a reader trusted with the whole stream (the guard already reads ORDERS by message).
   */
  orderedReads?: Array<{ stream: string; filter: string }>;
}

export interface NatsPermissions {
  /** `deny` wins over `allow` (nats-server semantics): what a wide allow must still not reach. */
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[] };
  allow_responses: boolean;
}

export interface NatsUser {
  user: string;
  /** Password credentials (`auth: password`): the server config holds it as given; prefer NKeys. */
  password: string;
  /** NKey credentials (`auth: nkey`, the default of `kokex deploy nats`): the public key the server config holds. */
  nkey?: string;
  /** The NKey seed the client signs with (secret: `users.env` only, never the server config). */
  seed?: string;
  permissions?: NatsPermissions;
}

/** How `buildUsers` makes credentials: NKeys (the server holds public keys only) or passwords. */
export const NATS_AUTH_KINDS = ['nkey', 'password'] as const;
export type NatsAuthKind = (typeof NATS_AUTH_KINDS)[number];

/** Per-user inbox prefix: with it, no actor can listen to another's JetStream replies or pulls. */
export function inboxPrefixFor(user: string): string {
  return `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * Every host needs these: plans and statuses to read, its own kind's status entries to write
 * (`kokex-actors` keys `{kind}.{instance}`: no kind can write another's heartbeat), its control
 * service (an instance's endpoints and the kind's requests), the host's own control service,
 * discovery. Plans are written by operators only (`kokex plan apply` as an admin user, or a kind
 * that lists `kokex-plans` in its own `kv`, the dashboard). Dead letters: see `permissionsFor`.
 */
function hostBaseline(kind: string): ActorAccess {
  return {
    publish: ['$SRV.>', `$KV.${Buckets.actors}.${kind}.>`],
    subscribe: [
      '$SRV.>',
      subjectFilter('control', { kind }),
      subjectFilter('actorRequest', { kind }),
      subjectFilter('control', { kind: 'host' }),
    ],
    consume: [],
    kv: [],
    kvRead: [Buckets.plans, Buckets.actors],
    objectStores: [],
  };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

export const EMPTY_ACCESS: Readonly<ActorAccess> = Object.freeze({ publish: [], subscribe: [], consume: [], kv: [], objectStores: [] });

/** True when two consumer declarations name the same durable with the same filter. */
export function sameConsumer(a: ConsumerAccess, b: ConsumerAccess): boolean {
  return a.stream === b.stream && a.durable === b.durable && a.filter === b.filter;
}

/** The union of two access lists, each list without repeats (consumers compared by stream, durable and filter). */
export function mergeAccess(a: Partial<ActorAccess>, b: Partial<ActorAccess>): ActorAccess {
  const strings = (key: 'publish' | 'subscribe' | 'kv' | 'kvRead' | 'objectStores' | 'reads') =>
    unique([...(a[key] ?? []), ...(b[key] ?? [])]);
  const consume: ConsumerAccess[] = [];
  for (const c of [...(a.consume ?? []), ...(b.consume ?? [])]) {
    if (!consume.some((d) => sameConsumer(c, d))) consume.push({ stream: c.stream, durable: c.durable, filter: c.filter });
  }
  const reads = strings('reads');
  const kvRead = strings('kvRead');
  const orderedReads: Array<{ stream: string; filter: string }> = [];
  for (const r of [...(a.orderedReads ?? []), ...(b.orderedReads ?? [])]) {
    if (!orderedReads.some((o) => o.stream === r.stream && o.filter === r.filter))
      orderedReads.push({ stream: r.stream, filter: r.filter });
  }
  return {
    publish: strings('publish'),
    subscribe: strings('subscribe'),
    consume,
    kv: strings('kv'),
    objectStores: strings('objectStores'),
    ...(reads.length ? { reads } : {}),
    ...(kvRead.length ? { kvRead } : {}),
    ...(orderedReads.length ? { orderedReads } : {}),
  };
}

/**
 * What a kind's `bus` declaration allows for these plans. The configuration the declaration sees is
 * the one a host would derive with no host settings: the schema's defaults, then `configFromPlans`.
 */
export function declaredAccess<C>(kind: ActorKind<C>, plans: readonly Plan[]): ActorAccess {
  const bus = kind.bus;
  if (!bus) return mergeAccess(EMPTY_ACCESS, {});
  let config: C | undefined;
  const input = {
    plans,
    get config(): C {
      if (config === undefined) config = deployConfig(kind, plans);
      return config;
    },
  };
  const list = <T>(d: Declared<C, T> | undefined): T[] => (d === undefined ? [] : [...(typeof d === 'function' ? d(input) : d)]);
  return mergeAccess(
    {
      publish: list(bus.publishes),
      subscribe: list(bus.subscribes),
      consume: list(bus.consumes),
      kv: list(bus.kv),
      objectStores: list(bus.objectStores),
      reads: list(bus.reads),
    },
    {},
  );
}

function deployConfig<C>(kind: ActorKind<C>, plans: readonly Plan[]): C {
  const base = kind.configSchema.safeParse({});
  if (!base.success) {
    throw new KokexError(
      ErrorCode.ActorConfig,
      `cannot derive the access of actor kind ${kind.kind}: its configuration has no defaults (${base.error.issues[0]?.message ?? 'invalid'})`,
      { data: { kind: kind.kind } },
    );
  }
  return kind.configFromPlans ? kind.configFromPlans(plans, base.data) : base.data;
}

/** What a kind may touch for these plans, as `kokex deploy nats` writes it: declared and explicit access together. */
export function accessOf<C>(kind: ActorKind<C>, plans: readonly Plan[]): ActorAccess {
  return mergeAccess(EMPTY_ACCESS, kind.access?.(plans) ?? (kind.bus ? declaredAccess(kind, plans) : {}));
}

/**
 * The allow-lists for one actor kind (JetStream API subjects as nats.js v3 uses them on 2.9+).
 * `others` are the durables every kind consumes: a kind that reads a stream through ordered
 * consumers (any consumer name) is denied creating, pulling from, reading or deleting the other
 * kinds' durables there, and creating any consumer on the order path's approvals.
 */
export function permissionsFor(kind: string, access: ActorAccess, user = kind, others: readonly ConsumerAccess[] = []): NatsPermissions {
  const base = hostBaseline(kind);
  const publish = [
    ...base.publish,
    ...access.publish,
    '$JS.API.INFO',
    '$JS.API.STREAM.INFO.*',
    '$JS.API.STREAM.NAMES',
    '$JS.API.CONSUMER.INFO.KV_*.*',
  ];
  const subscribe = [...base.subscribe, ...access.subscribe, `${inboxPrefixFor(user)}.>`];
  for (const c of access.consume) {
    // Its own dead letters only: `kokex.dlq.{stream}.{durable}` of the durables it pulls.
    publish.push(subjectFilter('dlq', { stream: c.stream, consumer: c.durable }));
    // The create subject carries the filter, and the server checks it against the config, so this
    // allows exactly one durable with exactly this filter.
    publish.push(
      `$JS.API.CONSUMER.CREATE.${c.stream}.${c.durable}.${c.filter}`,
      `$JS.API.CONSUMER.INFO.${c.stream}.${c.durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${c.stream}.${c.durable}`,
      `$JS.ACK.${c.stream}.${c.durable}.>`,
    );
  }
  for (const bucket of [...base.kv, ...access.kv]) {
    const stream = `KV_${bucket}`;
    publish.push(
      `$KV.${bucket}.>`,
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.>`,
      `$JS.API.CONSUMER.CREATE.${stream}.>`,
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.DELETE.${stream}.>`,
      `$JS.FC.${stream}.>`,
    );
  }
  for (const r of access.orderedReads ?? []) {
    publish.push(
      `$JS.API.CONSUMER.CREATE.${r.stream}.*.${r.filter}`,
      `$JS.API.CONSUMER.MSG.NEXT.${r.stream}.*`,
      `$JS.API.CONSUMER.INFO.${r.stream}.*`,
      `$JS.API.CONSUMER.DELETE.${r.stream}.*`,
    );
  }
  const writable = new Set([...base.kv, ...access.kv]);
  for (const bucket of [...(base.kvRead ?? []), ...(access.kvRead ?? [])]) {
    if (writable.has(bucket)) continue;
    const stream = `KV_${bucket}`;
    // Get and watch (an ordered consumer on the bucket's stream), never `$KV.{bucket}.>`.
    publish.push(
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.>`,
      `$JS.API.CONSUMER.CREATE.${stream}.>`,
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.DELETE.${stream}.>`,
      `$JS.FC.${stream}.>`,
    );
  }
  for (const stream of access.reads ?? []) {
    publish.push(`$JS.API.STREAM.MSG.GET.${stream}`, `$JS.API.DIRECT.GET.${stream}`, `$JS.API.DIRECT.GET.${stream}.>`);
  }
  for (const bucket of access.objectStores) {
    const stream = `OBJ_${bucket}`;
    publish.push(
      `$O.${bucket}.>`,
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.>`,
      `$JS.API.CONSUMER.CREATE.${stream}.>`,
      `$JS.API.CONSUMER.DELETE.${stream}.>`,
      `$JS.API.STREAM.PURGE.${stream}`,
      `$JS.FC.${stream}.>`,
    );
  }
  const deny: string[] = [];
  // Another kind's durable is never this kind's, whatever wide allow it holds (ordered reads, the
  // dashboard's ordered consumers): no create, pull, look-up or delete of it.
  for (const c of others) {
    if (access.consume.some((own) => own.stream === c.stream && own.durable === c.durable)) continue;
    deny.push(
      `$JS.API.CONSUMER.CREATE.${c.stream}.${c.durable}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${c.stream}.${c.durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${c.stream}.${c.durable}`,
      `$JS.API.CONSUMER.DELETE.${c.stream}.${c.durable}`,
      `$JS.API.CONSUMER.INFO.${c.stream}.${c.durable}`,
      `$JS.ACK.${c.stream}.${c.durable}.>`,
    );
  }
  for (const r of access.orderedReads ?? []) {
    // Only what the reader asked for: a consumer on approvals alone is never its business.
    deny.push(
      `$JS.API.CONSUMER.CREATE.${r.stream}.*.kokex.order.approved.>`,
      `$JS.API.CONSUMER.CREATE.${r.stream}.*.kokex.order.cancelapproved.>`,
    );
  }
  return {
    publish: { allow: unique(publish), ...(deny.length ? { deny: unique(deny) } : {}) },
    subscribe: { allow: unique(subscribe) },
    allow_responses: true,
  };
}

export interface AuthorizationInput {
  /** Actor kinds and what they may touch. */
  actors: Record<string, ActorAccess>;
  /** Extra users with no restrictions (operators, `kokex up`, provisioning). Default: ['admin']. */
  admins?: string[];
  /** Existing passwords to keep (regenerating config must not lock running actors out). */
  passwords?: Record<string, string>;
  /** Default: 'password' (tests, the embedded server); `kokex deploy nats` uses 'nkey'. */
  auth?: NatsAuthKind;
  /** Existing NKey seeds to keep, by user. */
  seeds?: Record<string, string>;
}

/** A user's NKey pair from its seed, or a new one. */
function nkeyOf(seed: string | undefined): { nkey: string; seed: string } {
  const kp = seed ? nkeys.fromSeed(new TextEncoder().encode(seed)) : nkeys.createUser();
  return { nkey: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
}

export function buildUsers(input: AuthorizationInput): NatsUser[] {
  const password = (user: string) => input.passwords?.[user] ?? randomBytes(18).toString('base64url');
  const credentials = (user: string) =>
    input.auth === 'nkey' ? { user, password: '', ...nkeyOf(input.seeds?.[user]) } : { user, password: password(user) };
  const users: NatsUser[] = (input.admins ?? ['admin']).map((user) => credentials(user));
  const durables = Object.values(input.actors).flatMap((a) => a.consume);
  for (const [kind, access] of Object.entries(input.actors).sort(([a], [b]) => a.localeCompare(b))) {
    users.push({ ...credentials(kind), permissions: permissionsFor(kind, access, kind, durables) });
  }
  return users;
}

/**
 * A nats-server configuration: JetStream plus one user per actor kind, listening on `host`
 * (default 127.0.0.1: never every interface unless the operator says so).
 */
export function renderNatsConfig(users: NatsUser[], options: { storeDir?: string; port?: number; host?: string } = {}): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`;
  const lines = ['# Generated by `kokex deploy nats`. One user per actor kind; anything not allowed is refused.'];
  lines.push(`host: ${q(options.host ?? '127.0.0.1')}`);
  if (options.port) lines.push(`port: ${options.port}`);
  lines.push(`jetstream {${options.storeDir ? ` store_dir: ${q(options.storeDir)} ` : ''}}`, 'authorization {', '  users = [');
  for (const u of users) {
    // An NKey user is its public key (the config names no secret); a password user its name and password.
    const who = u.nkey ? `nkey: ${q(u.nkey)}` : `user: ${q(u.user)}, password: ${q(u.password)}`;
    if (!u.permissions) {
      lines.push(`    { ${who} }`);
      continue;
    }
    lines.push(
      `    { ${who}, permissions: {`,
      `        publish: { allow: ${list(u.permissions.publish.allow)}${u.permissions.publish.deny ? `, deny: ${list(u.permissions.publish.deny)}` : ''} }`,
      `        subscribe: { allow: ${list(u.permissions.subscribe.allow)} }`,
      `        allow_responses: ${u.permissions.allow_responses}`,
      '    } }',
    );
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}
