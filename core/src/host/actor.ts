import type { DependencyContainer } from 'tsyringe';
import type { z } from 'zod';
import type { Bus } from '../bus/bus.js';
import type { DurableConsumerOptions, MessageHandler } from '../bus/consumer.js';
import type { Logger } from '../log/logger.js';
import type { Plan } from '../plan/schema.js';
import type { ActorAccess } from '../deploy/access.js';
import type { Clock } from '../time/clock.js';
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
  create(ctx: ActorContext<C>): ActorLogic<C>;
  /**
   * What this kind may touch on the bus, for the per-actor NATS users `kokex deploy nats` writes.
   * A kind without it gets only the host baseline (plans, status, control, discovery).
   */
  access?(plans: readonly Plan[]): Partial<ActorAccess>;
}

export interface ActorContext<C> {
  readonly kind: string;
  readonly instanceId: string;
  readonly hostId: string;
  readonly version: string;
  readonly config: C;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
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

/** Identity helper that keeps the config type attached to the kind. */
export function defineActorKind<C>(kind: ActorKind<C>): ActorKind<C> {
  return kind;
}
