import { randomBytes } from 'node:crypto';
import type { DependencyContainer } from 'tsyringe';
import { type Actor, createActor, fromPromise, waitFor } from 'xstate';
import type { Bus } from '../bus/bus.js';
import { DurableWorker } from '../bus/consumer.js';
import { ErrorCode, KokexError, type WireError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Plan } from '../plan/schema.js';
import type { Clock } from '../time/clock.js';
import { MarketClocks } from '../time/market-clock.js';
import { type ActorContext, type ActorKind, type ActorLogic, type ConsumerBinding, checkDeclaredConsumers } from './actor.js';
import { type LifecycleOptions, type LifecycleState, lifecycleMachine } from './lifecycle.js';
import { type ConsumerLag, HostMetrics } from './metrics.js';

/** A live actor instance as the status endpoint, the KV bucket and `kokex actors` show it. */
export interface ActorStatus {
  kind: string;
  instanceId: string;
  hostId: string;
  plugin: string;
  version: string;
  state: LifecycleState;
  attempts: number;
  lastError?: WireError;
  startedAt: number;
  updatedAt: number;
  processed: number;
  failed: number;
  deadLettered: number;
  inFlight: number;
  detail: Record<string, unknown>;
}

export interface ActorInstanceOptions<C> {
  kind: ActorKind<C>;
  plugin: { name: string; version: string };
  config: C;
  bus: Bus;
  hostId: string;
  log: Logger;
  clock: Clock;
  container: DependencyContainer;
  plans: () => readonly Plan[];
  lifecycle?: LifecycleOptions;
  /** Where message outcomes, latency and restarts are counted. Default: a registry of its own. */
  metrics?: HostMetrics;
  onState?(instance: ActorInstance<C>): void;
}

export function newInstanceId(kind: string): string {
  return `${kind}-${randomBytes(4).toString('hex')}`;
}

/**
 * One running actor: the XState lifecycle actor plus the effects it drives. Each (re)start builds
 * a fresh `ActorLogic` from the kind, so a restart after a fault begins from clean state.
 */
export class ActorInstance<C = unknown> {
  readonly instanceId: string;
  readonly startedAt: number;
  #config: C;
  #logic: ActorLogic<C> | undefined;
  #workers: DurableWorker<unknown>[] = [];
  #abort: AbortController | undefined;
  #actor: Actor<typeof lifecycleMachine>;
  #totals = { processed: 0, failed: 0, deadLettered: 0 };
  /** The last state changes with their times (bounded), for status and post-mortems. */
  readonly history: Array<{ state: LifecycleState; at: number }> = [];
  readonly log: Logger;
  readonly #metrics: HostMetrics;

  constructor(private readonly o: ActorInstanceOptions<C>) {
    this.#metrics = o.metrics ?? new HostMetrics({ processMetrics: false });
    this.instanceId = newInstanceId(o.kind.kind);
    this.startedAt = o.clock.now();
    this.#config = o.config;
    this.log = o.log.child({ actor: o.kind.kind, instance: this.instanceId, version: o.plugin.version });
    const machine = lifecycleMachine.provide({
      actors: {
        startWork: fromPromise(() => this.#startWork()),
        drainWork: fromPromise(() => this.#stopWork(true)),
        haltWork: fromPromise(() => this.#stopWork(false)),
      },
      actions: {
        pauseWork: () => void this.#pauseWork(),
        resumeWork: () => void this.#resumeWork(),
      },
    });
    this.#actor = createActor(machine, { input: o.lifecycle ?? {} });
    let last: string | undefined;
    this.#actor.subscribe((snap) => {
      const state = String(snap.value);
      if (state === last) return;
      last = state;
      this.history.push({ state: state as LifecycleState, at: o.clock.now() });
      if (this.history.length > 50) this.history.shift();
      this.log.info({ state, attempts: snap.context.attempts, error: snap.context.lastError }, `actor ${state}`);
      if (state === 'restarting') this.#metrics.restarted(o.kind.kind);
      o.onState?.(this);
    });
  }

  get kind(): string {
    return this.o.kind.kind;
  }

  get plugin(): { name: string; version: string } {
    return this.o.plugin;
  }

  get config(): C {
    return this.#config;
  }

  get state(): LifecycleState {
    return String(this.#actor.getSnapshot().value) as LifecycleState;
  }

  /** Whether the lifecycle accepts this event now (an invalid trigger is refused, not ignored). */
  can(event: 'PAUSE' | 'RESUME' | 'DRAIN' | 'STOP' | 'RESTART'): boolean {
    return this.#actor.getSnapshot().can({ type: event });
  }

  start(): this {
    this.#actor.start();
    return this;
  }

  send(event: 'PAUSE' | 'RESUME' | 'DRAIN' | 'STOP' | 'RESTART'): void {
    if (!this.can(event)) {
      throw new KokexError(
        ErrorCode.LifecycleTransition,
        `${this.instanceId} is ${this.state}; ${event.toLowerCase()} is not possible from there`,
        {
          data: { instance: this.instanceId, state: this.state, event },
        },
      );
    }
    this.#actor.send({ type: event });
  }

  fault(error: unknown): void {
    this.#actor.send({ type: 'FAULT', error });
  }

  async waitFor(states: LifecycleState[], timeoutMs = 30_000): Promise<LifecycleState> {
    const snap = await waitFor(this.#actor, (s) => states.includes(String(s.value) as LifecycleState), { timeout: timeoutMs });
    return String(snap.value) as LifecycleState;
  }

  /** Drains and waits until stopped. */
  async drain(timeoutMs = 30_000): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.can('DRAIN')) this.#actor.send({ type: 'DRAIN' });
    await this.waitFor(['stopped'], timeoutMs);
  }

  /** Applies a new config: in place when the logic supports it, else by a clean restart of this instance. */
  async reconfigure(config: C): Promise<'in-place' | 'restart'> {
    this.#config = config;
    if (this.#logic?.reconfigure) {
      await this.#logic.reconfigure(config);
      return 'in-place';
    }
    return 'restart';
  }

  async lag(): Promise<number> {
    let total = 0;
    for (const w of this.#workers) total += await w.lag().catch(() => 0);
    return total;
  }

  /** Pending and ack-pending per durable this instance pulls from (consumer info, as `nats consumer info`). */
  async consumerLag(): Promise<ConsumerLag[]> {
    const out: ConsumerLag[] = [];
    for (const w of this.#workers) {
      const { stream, durable } = w.options;
      const info = await this.o.bus.jsm.consumers.info(stream, durable).catch(() => undefined);
      if (info) out.push({ stream, consumer: durable, pending: info.num_pending, ackPending: info.num_ack_pending });
    }
    return out;
  }

  status(): ActorStatus {
    const snap = this.#actor.getSnapshot();
    const stats = this.#workers.reduce(
      (acc, w) => ({
        processed: acc.processed + w.stats.acked,
        failed: acc.failed + w.stats.naked,
        dead: acc.dead + w.stats.deadLettered,
        inFlight: acc.inFlight + w.stats.inFlight,
      }),
      { processed: 0, failed: 0, dead: 0, inFlight: 0 },
    );
    return {
      kind: this.kind,
      instanceId: this.instanceId,
      hostId: this.o.hostId,
      plugin: this.o.plugin.name,
      version: this.o.plugin.version,
      state: String(snap.value) as LifecycleState,
      attempts: snap.context.attempts,
      ...(snap.context.lastError ? { lastError: snap.context.lastError } : {}),
      startedAt: this.startedAt,
      updatedAt: this.o.clock.now(),
      processed: this.#totals.processed + stats.processed,
      failed: this.#totals.failed + stats.failed,
      deadLettered: this.#totals.deadLettered + stats.dead,
      inFlight: stats.inFlight,
      detail: safeDetail(this.#logic),
    };
  }

  async #startWork(): Promise<void> {
    this.#abort = new AbortController();
    const ctx: ActorContext<C> = {
      kind: this.kind,
      instanceId: this.instanceId,
      hostId: this.o.hostId,
      version: this.o.plugin.version,
      config: this.#config,
      bus: this.o.bus,
      log: this.log,
      clock: this.o.clock,
      marketClocks: new MarketClocks(this.o.clock),
      container: this.o.container,
      signal: this.#abort.signal,
      metrics: this.#metrics.forActor(this.kind),
      plans: this.o.plans,
      fail: (error) => this.fault(error),
    };
    // Config is logged whole on purpose: the logger redacts secret-named fields at any depth.
    this.log.info({ config: this.#config }, 'actor starting');
    const logic = this.o.kind.create(ctx);
    // A consumer the kind's bus declaration does not list would be refused by its NATS user.
    checkDeclaredConsumers(this.o.kind, this.#config, this.o.plans(), logic.consumers ?? []);
    this.#logic = logic;
    await logic.start?.();
    const metrics = this.#metrics;
    const kind = this.kind;
    this.#workers = (logic.consumers ?? []).map(
      (binding) =>
        new DurableWorker(this.o.bus, binding.options, timed(metrics, kind, binding), {
          onFault: (err) => {
            this.log.error({ err }, 'handler failed');
            if (['starting', 'running', 'paused'].includes(this.state)) this.fault(err);
          },
          onDeadLetter: (subject, err) => {
            metrics.deadLettered(kind, binding.options.stream, binding.options.durable);
            this.log.warn({ subject, err }, 'message dead-lettered');
          },
          onDeadLetterFailed: (subject, err, publishError) =>
            this.log.error({ subject, err, publishError }, 'message terminated: its dead letter could not be published either'),
        }),
    );
    await Promise.all(this.#workers.map((w) => w.start()));
  }

  async #pauseWork(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.pause()));
    await this.#logic?.pause?.();
  }

  async #resumeWork(): Promise<void> {
    for (const w of this.#workers) w.resume();
    await this.#logic?.resume?.();
  }

  /** Drain (finish in-flight, ack) or halt after a fault; both release the logic's resources. */
  async #stopWork(_finish: boolean): Promise<void> {
    // Workers always finish what they hold: a message half-handled by a failed run is either acked
    // or nak'ed by its own handler, never abandoned to the ack-wait timeout.
    await Promise.all(this.#workers.map((w) => w.drain()));
    for (const w of this.#workers) {
      this.#totals.processed += w.stats.acked;
      this.#totals.failed += w.stats.naked;
      this.#totals.deadLettered += w.stats.deadLettered;
    }
    this.#workers = [];
    this.#abort?.abort();
    const logic = this.#logic;
    this.#logic = undefined;
    await logic?.stop?.();
  }
}

/** The binding's handler, counted and timed per durable (a throw counts as failed and is rethrown). */
function timed(metrics: HostMetrics, kind: string, binding: ConsumerBinding): ConsumerBinding['handle'] {
  const { stream, durable } = binding.options;
  return async (envelope, msg) => {
    const began = performance.now();
    try {
      await binding.handle(envelope, msg);
    } catch (err) {
      metrics.failed(kind, stream, durable, (performance.now() - began) / 1000);
      throw err;
    }
    metrics.handled(kind, stream, durable, (performance.now() - began) / 1000);
  };
}

function safeDetail(logic: ActorLogic<unknown> | undefined): Record<string, unknown> {
  try {
    return logic?.status?.() ?? {};
  } catch (err) {
    return { statusError: (err as Error).message };
  }
}
