import type { DependencyContainer } from 'tsyringe';
import type { z } from 'zod';
import type { Bus } from '../bus/bus.js';
import type { DurableConsumerOptions, MessageHandler } from '../bus/consumer.js';
import type { Logger } from '../log/logger.js';
import type { Plan } from '../plan/schema.js';
import { type ActorAccess, type ConsumerAccess, declaredAccess, mergeAccess, sameConsumer } from '../deploy/access.js';
import { ErrorCode, KokexError } from '../errors.js';
import type { Clock } from '../time/clock.js';
import type { MarketClocks } from '../time/market-clock.js';
import type { ActorMetrics } from './metrics.js';

/**
 * What a plugin contributes for one actor kind. The host owns the lifecycle, the durable consumers,
 * the control endpoints and the heartbeats; the kind supplies only its behaviour.
 */
export interface ActorKind<C = unknown> {
  /** Subject token: letters, digits, '-' and '_'. */
  kind: string;
  description: string;
  configSchema: z.ZodType<C, z.ZodTypeDef, unknown>;
  /**
   * Derives this kind's configuration from the active plans. When the result changes after a plan
   * is applied, the instance is reconfigured (or replaced); when it does not, the instance is left
   * alone. Omit for kinds that plans do not configure.
   */
  configFromPlans?(plans: readonly Plan[], base: C): C;
  /**
   * Started before the host's other kinds: a local venue (a simulator) that feeds, validators and
   * executors connect to, so that they do not race it at start-up and warn about a venue not up.
   */
  startsFirst?: boolean;
  create(ctx: ActorContext<C>): ActorLogic<C>;
  /**
   * What this kind's code touches on the bus, declared once beside the code that does it. The NATS
   * permissions (`access`) are derived from it, and the host refuses to run a durable consumer the
   * declaration does not list, so the two cannot drift apart.
   */
  bus?: ActorBusDeclaration<C>;
  /**
   * What this kind may touch on the bus, for the per-actor NATS users `kokex deploy nats` writes.
   * `defineActorKind` derives it from `bus` (adding whatever an explicit `access` returns, for what
   * cannot be declared there). A kind with neither gets only the host baseline (plans, status,
   * control, discovery).
   */
  access?(plans: readonly Plan[]): Partial<ActorAccess>;
}

/** What a declaration may depend on: the active plans and the configuration derived from them. */
export interface BusDeclarationInput<C> {
  readonly plans: readonly Plan[];
  /** The kind's configuration for these plans (`configFromPlans` over the schema's defaults). */
  readonly config: C;
}

/** A fixed list, or one computed from the plans and the configuration. */
export type Declared<C, T> = readonly T[] | ((input: BusDeclarationInput<C>) => readonly T[]);

/**
 * The bus side of an actor kind. Subjects are built with core's subject builder (`subject`,
 * `subjectFilter`), so a declaration names families rather than spelling subjects.
 *
 * @example
 * bus: {
 *   publishes: [subjectFilter('clockTick')],
 *   consumes: ({ config }) => [{ stream: Streams.clock, durable: config.durable, filter: subjectFilter('scheduleFire') }],
 * }
 */
export interface ActorBusDeclaration<C> {
  /** Subjects (or filters) it publishes to, on JetStream or core NATS. */
  publishes?: Declared<C, string>;
  /** Core NATS subscriptions (live candles, tokens, request subjects). */
  subscribes?: Declared<C, string>;
  /** Every durable consumer its logic returns (`ActorLogic.consumers`): stream, durable and filter. */
  consumes?: Declared<C, ConsumerAccess>;
  /** KV buckets it reads and writes. */
  kv?: Declared<C, string>;
  /** Object stores it reads and writes. */
  objectStores?: Declared<C, string>;
  /** Streams it reads stored messages from by subject (`bus.last`, `getMessage`), without a consumer. */
  reads?: Declared<C, string>;
}

export interface ActorContext<C> {
  readonly kind: string;
  readonly instanceId: string;
  readonly hostId: string;
  readonly version: string;
  readonly config: C;
  readonly bus: Bus;
  readonly log: Logger;
  /** Wall time: infrastructure only (heartbeats, retries, timeouts, leases, latency figures). */
  readonly clock: Clock;
  /**
   * Market time, one clock per plan (`marketClocks.of(plan, mode)`, `forPlan(plan)`): what every
   * decision that depends on time reads. Live it is the wall clock; in a replay (`sim`) it is the
   * newest `eventTime` this actor run has shown it, so the actor shows it each message's
   * `eventTime` before deciding. Fresh for each run of the actor.
   */
  readonly marketClocks: MarketClocks;
  readonly container: DependencyContainer;
  /** Aborted when this run of the actor ends (drain, stop, fault). */
  readonly signal: AbortSignal;
  /** The host's Prometheus registry for this kind's own families (`kokex_…`, served on `/metrics`). */
  readonly metrics: ActorMetrics;
  /** Active plans, as last seen in the plans bucket. */
  plans(): readonly Plan[];
  /** Reports a fault outside a message handler (a timer, a socket); the host restarts the actor. */
  fail(error: unknown): void;
}

export interface ConsumerBinding {
  options: DurableConsumerOptions<unknown>;
  handle: MessageHandler<unknown>;
}

/** Binds a handler to a durable consumer with the contract's payload type. */
export function consume<T>(options: DurableConsumerOptions<T>, handle: MessageHandler<T>): ConsumerBinding {
  return { options: options as DurableConsumerOptions<unknown>, handle: handle as MessageHandler<unknown> };
}

export interface ActorLogic<C = unknown> {
  /** Durable consumers the host runs for this actor (pause, drain and reload apply to them). */
  consumers?: ConsumerBinding[];
  /** Called before consumers start; start timers and sockets here. */
  start?(): Promise<void> | void;
  pause?(): Promise<void> | void;
  resume?(): Promise<void> | void;
  /** Called after consumers drained (or after a fault); release timers and sockets. */
  stop?(): Promise<void> | void;
  /** Applies a new configuration in place. Without it, the host replaces the instance. */
  reconfigure?(config: C): Promise<void> | void;
  /** Extra fields for the status endpoint and the actors table. */
  status?(): Record<string, unknown>;
}

/**
 * Keeps the config type attached to the kind and derives `access` from its `bus` declaration
 * (merged with an explicit `access`, which alone keeps working as before).
 */
export function defineActorKind<C>(kind: ActorKind<C>): ActorKind<C> {
  if (!kind.bus) return kind;
  const explicit = kind.access?.bind(kind);
  return { ...kind, access: (plans) => mergeAccess(declaredAccess(kind, plans), explicit?.(plans) ?? {}) };
}

/**
 * Refuses consumers a kind's logic returns that its `bus.consumes` does not declare (the NATS user
 * derived from the declaration could not create them). Kinds without `bus.consumes` are not checked.
 */
export function checkDeclaredConsumers<C>(
  kind: ActorKind<C>,
  config: C,
  plans: readonly Plan[],
  bindings: readonly ConsumerBinding[],
): void {
  const declared = kind.bus?.consumes;
  if (!declared) return;
  const list = typeof declared === 'function' ? declared({ plans, config }) : declared;
  const missing = bindings
    .map(({ options: o }) => ({ stream: o.stream, durable: o.durable, filter: o.filter }))
    .filter((c) => !list.some((d) => sameConsumer(c, d)));
  if (missing.length === 0) return;
  const named = missing.map((c) => `${c.stream}/${c.durable} (${c.filter})`).join(', ');
  throw new KokexError(ErrorCode.ActorConfig, `actor kind ${kind.kind} runs consumers its bus declaration does not list: ${named}`, {
    data: { kind: kind.kind, missing },
  });
}
