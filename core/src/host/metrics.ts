import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCode, KokexError } from '../errors.js';
import { LifecycleState } from './lifecycle.js';

/**
 * Prometheus metrics of one actor host, in a registry of its own (never prom-client's global one:
 * several hosts may share a process in tests, and a plugin's own prom-client copy must not leak
 * into ours). The host records message outcomes, handler latency and lifecycle changes as they
 * happen; consumer lag and lifecycle-state counts are read when Prometheus scrapes.
 *
 * Families (all prefixed `kokex_`, units as suffixes, counters end in `_total`):
 * - `kokex_messages_handled_total{kind,stream,consumer}` handler returned, message acked
 * - `kokex_messages_failed_total{kind,stream,consumer}` handler threw (nak'ed or dead-lettered)
 * - `kokex_messages_dead_lettered_total{kind,stream,consumer}` sent to `kokex.dlq.…`
 * - `kokex_handler_duration_seconds{kind,stream,consumer,outcome}` handler latency histogram
 * - `kokex_consumer_pending_messages{stream,consumer}` not yet delivered (consumer info)
 * - `kokex_consumer_ack_pending_messages{stream,consumer}` delivered, not yet acked
 * - `kokex_actor_instances{kind,state}` instances of this host in each lifecycle state
 * - `kokex_actor_restarts_total{kind}` lifecycle restarts after a fault
 * - families actors register through `ActorContext.metrics` (forecasts, verdicts, orders, …)
 * - Node process metrics (`kokex_process_resident_memory_bytes`, event loop lag, GC, …)
 */
export interface HostMetricsOptions {
  /** Constant label on every family. Default: none (Prometheus adds `pod`/`instance` itself). */
  hostId?: string;
  /** Node process and runtime metrics (`kokex_process_*`, `kokex_nodejs_*`). Default: true. */
  processMetrics?: boolean;
  /** Upper bound on reading consumer lag during one scrape. Default: 2000 ms. */
  lagTimeoutMs?: number;
}

/** Label values of one metric sample. */
export type MetricLabels = Record<string, string | number>;

export interface MetricCounter {
  inc(labels?: MetricLabels, value?: number): void;
}

export interface MetricGauge {
  set(labels: MetricLabels | undefined, value: number): void;
  inc(labels?: MetricLabels, value?: number): void;
  dec(labels?: MetricLabels, value?: number): void;
  /** Drops one labelled series (an info metric's previous value). */
  remove(labels: MetricLabels): void;
}

export interface MetricHistogram {
  observe(labels: MetricLabels | undefined, value: number): void;
}

/**
 * What an actor may record, through `ActorContext.metrics`. Names must start with `kokex_` and
 * follow Prometheus conventions (`_total` counters, base units as suffixes: `_seconds`, `_bytes`).
 * Every family gets a `kind` label with the actor's kind. Asking again for a family of the same
 * name returns the one already registered (a restarted actor keeps counting where it left off);
 * asking for it with another type or other labels is refused.
 */
export interface ActorMetrics {
  counter(name: string, help: string, labelNames?: readonly string[]): MetricCounter;
  gauge(name: string, help: string, labelNames?: readonly string[]): MetricGauge;
  /** Default buckets: the host's latency buckets (1 ms … 60 s). */
  histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): MetricHistogram;
}

/** One durable's lag as the consumer info reports it. */
export interface ConsumerLag {
  stream: string;
  consumer: string;
  pending: number;
  ackPending: number;
}

/** What the host's scrape-time collectors read: its instances' states and their consumers' lag. */
export interface MetricsSource {
  states(): Array<{ kind: string; state: string }>;
  lag(): Promise<ConsumerLag[]>;
}

/** Handler latency buckets in seconds: from a 1 ms KV write to a minute-long LLM turn. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

const METRIC_NAME = /^kokex_[a-z][a-z0-9_]*$/;

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class HostMetrics {
  readonly registry = new Registry();
  readonly #handled: Counter<string>;
  readonly #failed: Counter<string>;
  readonly #deadLettered: Counter<string>;
  readonly #duration: Histogram<string>;
  readonly #restarts: Counter<string>;
  readonly #custom = new Map<string, { type: string; labels: string; metric: AnyMetric }>();
  #source: MetricsSource | undefined;

  constructor(options: HostMetricsOptions = {}) {
    if (options.hostId) this.registry.setDefaultLabels({ host: options.hostId });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'kokex_' });
    const registers = [this.registry];
    const msgLabels = ['kind', 'stream', 'consumer'];
    this.#handled = new Counter({
      name: 'kokex_messages_handled_total',
      help: 'Messages handled and acked',
      labelNames: msgLabels,
      registers,
    });
    this.#failed = new Counter({
      name: 'kokex_messages_failed_total',
      help: 'Messages whose handler threw',
      labelNames: msgLabels,
      registers,
    });
    this.#deadLettered = new Counter({
      name: 'kokex_messages_dead_lettered_total',
      help: 'Messages published to the dead-letter subject',
      labelNames: msgLabels,
      registers,
    });
    this.#duration = new Histogram({
      name: 'kokex_handler_duration_seconds',
      help: 'Handler latency from delivery to ack or failure',
      labelNames: [...msgLabels, 'outcome'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.#restarts = new Counter({
      name: 'kokex_actor_restarts_total',
      help: 'Actor restarts after a fault',
      labelNames: ['kind'],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'kokex_actor_instances',
      help: 'Actor instances of this host by lifecycle state',
      labelNames: ['kind', 'state'],
      registers,
      collect() {
        this.reset();
        const source = metrics.#source;
        if (!source) return;
        const kinds = new Set<string>();
        const counts = new Map<string, number>();
        for (const { kind, state } of source.states()) {
          kinds.add(kind);
          counts.set(`${kind}\0${state}`, (counts.get(`${kind}\0${state}`) ?? 0) + 1);
        }
        // Every state of every kind, zeros included, so `== 0` alerts work without absent().
        for (const kind of kinds)
          for (const state of Object.values(LifecycleState)) this.set({ kind, state }, counts.get(`${kind}\0${state}`) ?? 0);
      },
    });
    // Lag is read from the server at scrape time (what `nats consumer info` shows); both gauges
    // come from the same read, which the first collector starts and the second awaits.
    let reading: Promise<ConsumerLag[]> | undefined;
    const read = (): Promise<ConsumerLag[]> => {
      reading ??= withTimeout(metrics.#source?.lag() ?? Promise.resolve([]), options.lagTimeoutMs ?? 2000).finally(() => {
        setTimeout(() => {
          reading = undefined;
        }, 0);
      });
      return reading;
    };
    const lagGauge = (name: string, help: string, pick: (l: ConsumerLag) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['stream', 'consumer'],
        registers,
        async collect() {
          this.reset();
          for (const l of await read().catch(() => [])) this.set({ stream: l.stream, consumer: l.consumer }, pick(l));
        },
      });
    lagGauge('kokex_consumer_pending_messages', 'Messages on the durable not yet delivered', (l) => l.pending);
    lagGauge('kokex_consumer_ack_pending_messages', 'Messages delivered on the durable and not yet acked', (l) => l.ackPending);
  }

  /** Where scrape-time collectors read states and lag (the host sets itself). */
  bind(source: MetricsSource): void {
    this.#source = source;
  }

  /** Text exposition format, as `/metrics` serves it. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Records one handled message (called by the instance around each handler). */
  handled(kind: string, stream: string, consumer: string, seconds: number): void {
    this.#handled.inc({ kind, stream, consumer });
    this.#duration.observe({ kind, stream, consumer, outcome: 'ok' }, seconds);
  }

  failed(kind: string, stream: string, consumer: string, seconds: number): void {
    this.#failed.inc({ kind, stream, consumer });
    this.#duration.observe({ kind, stream, consumer, outcome: 'error' }, seconds);
  }

  deadLettered(kind: string, stream: string, consumer: string): void {
    this.#deadLettered.inc({ kind, stream, consumer });
  }

  restarted(kind: string): void {
    this.#restarts.inc({ kind });
  }

  /** The `ctx.metrics` an actor of this kind receives. */
  forActor(kind: string): ActorMetrics {
    const bind = <L extends MetricLabels | undefined>(labels: L) => ({ ...(labels ?? {}), kind });
    return {
      counter: (name, help, labelNames = []) => {
        const c = this.#family(
          'counter',
          name,
          labelNames,
          () => new Counter({ name, help, labelNames: ['kind', ...labelNames], registers: [this.registry] }),
        );
        return { inc: (labels, value) => c.inc(bind(labels), value ?? 1) };
      },
      gauge: (name, help, labelNames = []) => {
        const g = this.#family(
          'gauge',
          name,
          labelNames,
          () => new Gauge({ name, help, labelNames: ['kind', ...labelNames], registers: [this.registry] }),
        );
        return {
          set: (labels, value) => g.set(bind(labels), value),
          inc: (labels, value) => g.inc(bind(labels), value ?? 1),
          dec: (labels, value) => g.dec(bind(labels), value ?? 1),
          remove: (labels) => g.remove(bind(labels)),
        };
      },
      histogram: (name, help, labelNames = [], buckets = LATENCY_BUCKETS_SECONDS) => {
        const h = this.#family(
          'histogram',
          name,
          labelNames,
          () => new Histogram({ name, help, labelNames: ['kind', ...labelNames], buckets: [...buckets], registers: [this.registry] }),
        );
        return { observe: (labels, value) => h.observe(bind(labels), value) };
      },
    };
  }

  #family<M extends AnyMetric>(type: string, name: string, labelNames: readonly string[], make: () => M): M {
    if (!METRIC_NAME.test(name))
      throw metricError(name, `metric name ${name} must match ${METRIC_NAME} (Prometheus naming, kokex_ prefix)`);
    if (type === 'counter' && !name.endsWith('_total')) throw metricError(name, `counter ${name} must end in _total`);
    const labels = [...labelNames].join(',');
    const known = this.#custom.get(name);
    if (known) {
      if (known.type !== type || known.labels !== labels)
        throw metricError(
          name,
          `metric ${name} is already a ${known.type} with labels [${known.labels}]; asked for a ${type} with [${labels}]`,
        );
      return known.metric as M;
    }
    if (this.registry.getSingleMetric(name)) throw metricError(name, `metric ${name} is one of the host's own families`);
    const metric = make();
    this.#custom.set(name, { type, labels, metric });
    return metric;
  }
}

/** A family an actor kind declares wrongly is a defect of the kind, like an invalid config schema. */
function metricError(name: string, message: string): KokexError {
  return new KokexError(ErrorCode.ActorConfig, message, { data: { metric: name } });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    t.unref?.();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
