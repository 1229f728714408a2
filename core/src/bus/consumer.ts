import { AckPolicy, type Consumer, type ConsumerConfig, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Contract, Envelope } from '../contracts/envelope.js';
import { DEAD_LETTER_EXCERPT_BYTES, DeadLetterContract } from '../contracts/system.js';
import { ErrorCode, isKokexError, KokexError, toWireError, type WireError } from '../errors.js';
import { inHandlerSpan } from '../telemetry/tracing.js';
import type { Bus } from './bus.js';
import { subject } from './subjects.js';

/**
 * A durable pull consumer shared by every replica of an actor kind. Explicit ack, a bound on
 * messages in flight, redelivery with backoff (nak with delay), and a dead-letter subject after
 * `maxDeliver` failed deliveries. Work is pulled with bounded fetches rather than an endless
 * `consume()` so that pausing or draining never strands messages in a pull the client stopped
 * listening to (they would sit unacked until the ack wait and arrive late).
 */
export interface DurableConsumerOptions<T> {
  stream: string;
  /** Durable name; every replica and every version of the actor kind uses the same one. */
  durable: string;
  /** One subject filter (nats-server 2.9 allows one). */
  filter: string;
  // Consumers only decode, so the producer-side input type does not matter.
  contract: Contract<T, any>;
  /** Messages delivered but not yet acked, per worker and on the server. Default: 64. */
  maxInFlight?: number;
  /** Deliveries before a message goes to the dead-letter subject. Default: 5. */
  maxDeliver?: number;
  /** Redelivery delays by attempt; the last repeats. Default: [200, 1000, 5000, 15000] ms. */
  backoffMs?: number[];
  /** Server-side redelivery when a worker dies holding a message. Default: 30 s. */
  ackWaitMs?: number;
  /** Where a new durable starts. Default: 'all'. */
  deliverPolicy?: 'all' | 'new';
  /** Upper bound on one fetch's wait when the stream is idle. Default: 1000 ms (the server's minimum). */
  fetchExpiresMs?: number;
}

export type MessageHandler<T> = (envelope: Envelope<T>, msg: JsMsg) => Promise<void>;

export interface ConsumerStats {
  delivered: number;
  acked: number;
  naked: number;
  deadLettered: number;
  /** Messages terminated because their dead letter could not be published either. */
  deadLetterFailed: number;
  inFlight: number;
}

export interface DurableWorkerEvents {
  /** A handler failed in a way that is not the message's fault (a bug, a lost dependency). */
  onFault?(err: unknown, envelope: Envelope<unknown> | undefined): void;
  onDeadLetter?(subject: string, err: unknown): void;
  /** The dead letter itself could not be published; the message was terminated anyway. */
  onDeadLetterFailed?(subject: string, err: unknown, publishError: unknown): void;
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
export function utf8Excerpt(bytes: Uint8Array, maxBytes: number): { text: string; truncated: boolean } {
  if (bytes.length <= maxBytes) return { text: new TextDecoder().decode(bytes), truncated: false };
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(bytes.subarray(0, end)), truncated: true };
}

/** Error text is bounded too: a validation error can quote much of a huge message. */
const DEAD_LETTER_ERROR_CHARS = 2000;
function boundedError(err: unknown): WireError {
  const wire = toWireError(err);
  const message = wire.message.length > DEAD_LETTER_ERROR_CHARS ? `${wire.message.slice(0, DEAD_LETTER_ERROR_CHARS)}…` : wire.message;
  const data = wire.data && JSON.stringify(wire.data).length <= DEAD_LETTER_ERROR_CHARS ? wire.data : undefined;
  return { ...wire, message, ...(data ? { data } : { data: undefined }) };
}

const DEFAULT_BACKOFF = [200, 1000, 5000, 15000];

export function consumerConfig<T>(o: DurableConsumerOptions<T>): Partial<ConsumerConfig> {
  return {
    durable_name: o.durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: o.filter,
    max_ack_pending: o.maxInFlight ?? 64,
    ack_wait: nanos(o.ackWaitMs ?? 30_000),
    // Unlimited on the server: the worker itself dead-letters at maxDeliver, with the error.
    max_deliver: -1,
    deliver_policy: o.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
  };
}

/** Creates the durable if missing, updates it if its settings changed. Safe from many replicas at once. */
export async function ensureConsumer<T>(bus: Bus, o: DurableConsumerOptions<T>): Promise<Consumer> {
  const want = consumerConfig(o);
  let info: Awaited<ReturnType<typeof bus.jsm.consumers.info>> | undefined;
  try {
    info = await bus.jsm.consumers.info(o.stream, o.durable);
  } catch {
    info = undefined;
  }
  if (!info) {
    await bus.jsm.consumers.add(o.stream, want);
  } else {
    const c = info.config;
    if (c.filter_subject !== want.filter_subject || c.max_ack_pending !== want.max_ack_pending || c.ack_wait !== want.ack_wait) {
      await bus.jsm.consumers.update(o.stream, o.durable, {
        filter_subject: want.filter_subject,
        max_ack_pending: want.max_ack_pending,
        ack_wait: want.ack_wait,
      });
    }
  }
  return bus.js.consumers.get(o.stream, o.durable);
}

type WorkerState = 'idle' | 'running' | 'paused' | 'draining' | 'stopped';

export class DurableWorker<T> {
  readonly stats: ConsumerStats = { delivered: 0, acked: 0, naked: 0, deadLettered: 0, deadLetterFailed: 0, inFlight: 0 };
  #state: WorkerState = 'idle';
  #consumer: Consumer | undefined;
  #loop: Promise<void> | undefined;
  #waiters: Array<() => void> = [];
  readonly #maxInFlight: number;
  readonly #maxDeliver: number;
  readonly #backoff: number[];

  constructor(
    private readonly bus: Bus,
    readonly options: DurableConsumerOptions<T>,
    private readonly handler: MessageHandler<T>,
    private readonly events: DurableWorkerEvents = {},
  ) {
    this.#maxInFlight = options.maxInFlight ?? 64;
    this.#maxDeliver = options.maxDeliver ?? 5;
    this.#backoff = options.backoffMs?.length ? options.backoffMs : DEFAULT_BACKOFF;
  }

  get state(): WorkerState {
    return this.#state;
  }

  async start(): Promise<void> {
    this.#consumer ??= await ensureConsumer(this.bus, this.options);
    // A drain requested while the consumer was being created wins: do not start pulling.
    if (this.#state === 'idle') this.#run();
  }

  /** Stops pulling; messages already delivered are still finished and acked. */
  async pause(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'paused';
    await this.#settle();
  }

  resume(): void {
    if (this.#state === 'paused') this.#run();
  }

  /** Stops pulling, finishes and acks in-flight work, and makes sure the acks reached the server. */
  async drain(): Promise<void> {
    if (this.#state === 'stopped') return;
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'draining';
    await this.#settle();
    this.#state = 'stopped';
  }

  /** Pending (not yet delivered) plus delivered-but-unacked messages on the durable. */
  async lag(): Promise<number> {
    const info = await this.bus.jsm.consumers.info(this.options.stream, this.options.durable);
    return info.num_pending + info.num_ack_pending;
  }

  #run(): void {
    this.#state = 'running';
    this.#loop = this.#pullLoop();
  }

  async #settle(): Promise<void> {
    await this.#loop;
    while (this.stats.inFlight > 0) await new Promise<void>((r) => this.#waiters.push(r));
    if (!this.bus.nc.isClosed()) await this.bus.nc.flush().catch(() => undefined);
  }

  #slotFreed(): Promise<void> {
    return new Promise<void>((r) => this.#waiters.push(r));
  }

  async #pullLoop(): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer) return;
    while (this.#state === 'running' && !this.bus.nc.isClosed()) {
      const room = this.#maxInFlight - this.stats.inFlight;
      if (room <= 0) {
        await this.#slotFreed();
        continue;
      }
      try {
        const batch = await consumer.fetch({ max_messages: room, expires: this.options.fetchExpiresMs ?? 1000 });
        for await (const msg of batch) this.#dispatch(msg);
      } catch (err) {
        if (this.#state !== 'running' || this.bus.nc.isClosed()) break;
        // A transient bus problem (server restart, leader change): wait and pull again.
        this.events.onFault?.(err, undefined);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  #dispatch(msg: JsMsg): void {
    this.stats.inFlight++;
    this.stats.delivered++;
    void this.#handle(msg).finally(() => {
      this.stats.inFlight--;
      const waiters = this.#waiters.splice(0);
      for (const w of waiters) w();
    });
  }

  async #handle(msg: JsMsg): Promise<void> {
    const deliveries = msg.info.deliveryCount;
    if (deliveries > this.#maxDeliver) {
      // Earlier deliveries ended without ack or nak (a worker died holding it).
      await this.#deadLetter(msg, new KokexError(ErrorCode.DeliveryExhausted, `delivered ${deliveries} times without an ack`), deliveries);
      return;
    }
    let envelope: Envelope<T>;
    try {
      envelope = this.options.contract.decode(msg.data);
    } catch (err) {
      // A message that does not parse will never parse: dead-letter it at once.
      await this.#deadLetter(msg, err, deliveries);
      return;
    }
    try {
      await inHandlerSpan(
        { subject: msg.subject, type: envelope.type, correlationId: envelope.correlationId, consumer: this.options.durable, stream: this.options.stream },
        msg.headers,
        () => this.handler(envelope, msg),
      );
      msg.ack();
      this.stats.acked++;
    } catch (err) {
      // A non-retryable KOKEX error (including an invalid message) can never succeed on redelivery.
      const permanent = isKokexError(err) && !err.retryable;
      if (permanent || deliveries >= this.#maxDeliver) {
        await this.#deadLetter(msg, err, deliveries);
      } else {
        const delay = this.#backoff[Math.min(deliveries - 1, this.#backoff.length - 1)] ?? 1000;
        msg.nak(delay);
        this.stats.naked++;
      }
      if (!isKokexError(err)) this.events.onFault?.(err, envelope as Envelope<unknown>);
    }
  }

  async #deadLetter(msg: JsMsg, err: unknown, deliveries: number): Promise<void> {
    const dlqSubject = subject('dlq', { stream: this.options.stream, consumer: this.options.durable });
    const excerpt = utf8Excerpt(msg.data, DEAD_LETTER_EXCERPT_BYTES);
    try {
      await this.bus.publish(
        DeadLetterContract,
        dlqSubject,
        {
          stream: this.options.stream,
          consumer: this.options.durable,
          subject: msg.subject,
          streamSeq: msg.seq,
          deliveries,
          error: boundedError(err),
          payload: excerpt.text,
          payloadBytes: msg.data.length,
          truncated: excerpt.truncated,
        },
        { id: `dlq:${this.options.stream}:${this.options.durable}:${msg.seq}` },
      );
      // No reason text: nats-server 2.9 ignores a `+TERM` that carries one (reasons came in 2.10.4).
      msg.term();
      this.stats.deadLettered++;
      this.events.onDeadLetter?.(msg.subject, err);
    } catch (publishError) {
      // Could not record it. Redelivering would block the consumer for good (a message that cannot
      // be handled and cannot be dead-lettered comes back forever, holding a slot in flight), so
      // it is terminated and reported; the message itself stays in its stream at its sequence.
      msg.term();
      this.stats.deadLetterFailed++;
      this.events.onDeadLetterFailed?.(msg.subject, err, publishError);
    }
  }
}
