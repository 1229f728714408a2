import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode, KokexError } from '../errors.js';

/**
 * Every message on the bus is an envelope: the message type and its schema version, a message id
 * (also the JetStream de-duplication id), the correlation id that links candle → forecast →
 * decision → verdict → order → fill, the id of the message that caused this one, the producer and
 * the producer's clock. The payload sits in `data` and is validated by the contract's own schema.
 */
export interface Envelope<T> {
  type: string;
  v: number;
  id: string;
  correlationId: string;
  causationId?: string;
  /** Wall time (ms) when the producer built the message: for latency figures, never for decisions. */
  time: number;
  /**
   * Market time (ms) the message speaks for: a candle's close, the venue's own timestamp, or what the
   * message that caused it spoke for. Decisions (rates, ages, cooldowns, schedules) read this.
   */
  eventTime: number;
  source: string;
  data: T;
}

export interface EnvelopeMeta {
  /** Message id; the de-duplication key. Default: a random UUID. */
  id?: string;
  /** Default: the message id (a message that starts a chain correlates to itself). */
  correlationId?: string;
  causationId?: string;
  /** Default: Date.now(). */
  time?: number;
  /** Market time the message speaks for. Default: `time` (live, market time is the wall clock). */
  eventTime?: number;
  /** Default: 'unknown'. */
  source?: string;
}

const envelopeHead = z.object({
  type: z.string().min(1),
  v: z.number().int().positive(),
  id: z.string().min(1),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).optional(),
  time: z.number().finite(),
  /** Optional on the wire so that messages stored before it existed still read (as `time`). */
  eventTime: z.number().finite().nonnegative().optional(),
  source: z.string(),
  data: z.unknown(),
});

/** `T` is the validated payload; `I` what a producer may pass (fields with defaults may be left out). */
export interface Contract<T, I = T> {
  readonly type: string;
  readonly version: number;
  readonly schema: z.ZodType<T, z.ZodTypeDef, unknown>;
  /** Validates `data` and wraps it in an envelope. */
  envelope(data: I, meta?: EnvelopeMeta): Envelope<T>;
  encode(data: I, meta?: EnvelopeMeta): { envelope: Envelope<T>; bytes: Uint8Array };
  /** Parses and validates bytes from the bus; throws InvalidMessageError or SchemaVersionError. */
  decode(bytes: Uint8Array | string): Envelope<T>;
  /** Validates an already-parsed object. */
  parse(value: unknown): Envelope<T>;
}

export class InvalidMessageError extends KokexError {
  constructor(type: string, detail: string, data: Record<string, unknown> = {}) {
    super(ErrorCode.InvalidMessage, `invalid ${type} message: ${detail}`, { data: { type, ...data } });
  }
}

export class SchemaVersionError extends KokexError {
  constructor(type: string, expected: number, found: number) {
    super(ErrorCode.SchemaVersion, `${type} message has schema version ${found}; this build reads version ${expected}`, {
      data: { type, expected, found },
    });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The path of the first number that is not finite, anywhere in a value. JSON has no Infinity, but
 * `1e999` in JSON text parses to one, and zod's `positive()` lets it through: a forged approval of
 * size 1e999 must be refused at the contract, for every message type at once.
 */
export function nonFinitePath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path || '(root)';
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFinitePath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const found = nonFinitePath(child, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}

function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Declares one versioned message type. One contract per message type, kept in `core`. */
export function defineContract<S extends z.ZodTypeAny>(def: {
  type: string;
  version: number;
  schema: S;
}): Contract<z.output<S>, z.input<S>> {
  type T = z.output<S>;
  const { type, version, schema } = def;
  const envelope = (data: z.input<S>, meta: EnvelopeMeta = {}): Envelope<T> => {
    const checked = schema.safeParse(data);
    if (!checked.success) throw new InvalidMessageError(type, describeZodError(checked.error));
    const infinite = nonFinitePath(checked.data);
    if (infinite) throw new InvalidMessageError(type, `${infinite}: expected a finite number`, { field: infinite });
    const id = meta.id ?? randomUUID();
    const time = meta.time ?? Date.now();
    if (meta.eventTime !== undefined && !(Number.isFinite(meta.eventTime) && meta.eventTime >= 0)) {
      throw new InvalidMessageError(type, `eventTime must be a finite, non-negative market time in ms (got ${meta.eventTime})`);
    }
    const env: Envelope<T> = {
      type,
      v: version,
      id,
      correlationId: meta.correlationId ?? id,
      time,
      eventTime: meta.eventTime ?? time,
      source: meta.source ?? 'unknown',
      data: checked.data,
    };
    if (meta.causationId) env.causationId = meta.causationId;
    return env;
  };
  const parse = (value: unknown): Envelope<T> => {
    const head = envelopeHead.safeParse(value);
    if (!head.success) throw new InvalidMessageError(type, describeZodError(head.error));
    if (head.data.type !== type) {
      throw new InvalidMessageError(type, `type is ${head.data.type}`, { found: head.data.type });
    }
    if (head.data.v !== version) throw new SchemaVersionError(type, version, head.data.v);
    const body = schema.safeParse(head.data.data);
    if (!body.success) throw new InvalidMessageError(type, describeZodError(body.error), { id: head.data.id });
    const infinite = nonFinitePath(body.data);
    if (infinite) throw new InvalidMessageError(type, `${infinite}: expected a finite number`, { id: head.data.id, field: infinite });
    const { eventTime, ...rest } = head.data;
    return { ...(rest as Omit<Envelope<T>, 'data' | 'eventTime'>), eventTime: eventTime ?? rest.time, data: body.data };
  };
  return {
    type,
    version,
    schema,
    envelope,
    encode(data, meta) {
      const env = envelope(data, meta);
      return { envelope: env, bytes: encoder.encode(JSON.stringify(env)) };
    },
    decode(bytes) {
      let value: unknown;
      try {
        value = JSON.parse(typeof bytes === 'string' ? bytes : decoder.decode(bytes));
      } catch (err) {
        throw new InvalidMessageError(type, `not JSON (${(err as Error).message})`);
      }
      return parse(value);
    },
    parse,
  };
}

/**
 * Meta for a message caused by `cause`: same correlation, `cause` as its causation, and the market
 * time it spoke for, so market time travels down the chain candle → forecast → decision → intent →
 * verdict → order without anyone reading a clock.
 */
export function causedBy(cause: Pick<Envelope<unknown>, 'id' | 'correlationId' | 'eventTime'>, meta: EnvelopeMeta = {}): EnvelopeMeta {
  return { correlationId: cause.correlationId, causationId: cause.id, eventTime: cause.eventTime, ...meta };
}
