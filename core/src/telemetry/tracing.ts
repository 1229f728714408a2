import { type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type SpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/**
 * Traces across the bus. The W3C trace context (`traceparent`, `tracestate`) travels in NATS
 * message headers, so one candle's path through feed, validator, inferencer, agent, guard and
 * executor is one trace, whichever hosts ran the steps. Every publish is a producer span and every
 * handled message a consumer span carrying the subject, the actor and the correlation id.
 *
 * Off by default: nothing is recorded unless `startTracing` was called with an exporter or the
 * standard `OTEL_*` variables ask for OTLP (`OTEL_TRACES_EXPORTER=otlp`, or an
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). With no provider the
 * OpenTelemetry API is a no-op and messages carry no trace headers.
 */
const TRACER = 'kokex';

const natsSetter = {
  set(carrier: MsgHdrs, key: string, value: string) {
    carrier.set(key, value);
  },
};
const natsGetter = {
  get(carrier: MsgHdrs | undefined, key: string) {
    const value = carrier?.get(key);
    return value ? value : undefined;
  },
  keys(carrier: MsgHdrs | undefined) {
    return carrier ? carrier.keys() : [];
  },
};

export interface TracingOptions {
  /** `service.name` of the spans. Default: OTEL_SERVICE_NAME, else `kokex`. */
  serviceName?: string;
  /** Extra resource attributes (host id…). */
  attributes?: Record<string, string>;
  /** Export here instead of what the environment says (tests pass an in-memory exporter). */
  exporter?: SpanExporter;
  /** Export each span at once (tests); default batches. */
  simple?: boolean;
}

export interface Tracing {
  /** Flushes what is buffered and stops recording. */
  shutdown(): Promise<void>;
}

/** True when the standard environment variables ask for OTLP trace export. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return false;
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return exporter === 'otlp' || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let active: NodeTracerProvider | undefined;

/**
 * Starts recording spans for this process, or returns undefined when tracing is neither asked for
 * nor given an exporter. One provider per process: a second call returns a no-op handle.
 */
export function startTracing(o: TracingOptions = {}): Tracing | undefined {
  if (!o.exporter && !tracingRequested()) return undefined;
  if (active) return { shutdown: async () => undefined };
  const exporter = o.exporter ?? new OTLPTraceExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': o.serviceName ?? process.env.OTEL_SERVICE_NAME ?? 'kokex', ...(o.attributes ?? {}) }),
    spanProcessors: [o.simple ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  active = provider;
  return {
    async shutdown() {
      if (active !== provider) return;
      active = undefined;
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** Headers carrying the active trace context, or undefined when there is none to carry. */
export function traceHeaders(ctx: Context = context.active()): MsgHdrs | undefined {
  if (!trace.getSpan(ctx)) return undefined;
  const h = natsHeaders();
  propagation.inject(ctx, h, natsSetter);
  return h.keys().length > 0 ? h : undefined;
}

/** The trace context a message arrived with (the root context when it carries none). */
export function contextFrom(h: MsgHdrs | undefined): Context {
  return propagation.extract(context.active(), h, natsGetter);
}

export interface MessageSpanAttributes {
  subject: string;
  /** Message type (`md.candle`) when known. */
  type?: string;
  correlationId?: string;
  /** Durable consumer, i.e. the actor kind's work queue. */
  consumer?: string;
  stream?: string;
}

function attributesOf(a: MessageSpanAttributes): Record<string, string> {
  const out: Record<string, string> = { 'messaging.system': 'nats', 'messaging.destination.name': a.subject };
  if (a.type) out['kokex.message.type'] = a.type;
  if (a.correlationId) out['kokex.correlation_id'] = a.correlationId;
  if (a.consumer) out['messaging.consumer.group.name'] = a.consumer;
  if (a.stream) out['kokex.stream'] = a.stream;
  return out;
}

/** Runs `fn` inside a producer span for one publish; `fn` gets the headers to send. */
export async function inPublishSpan<T>(a: MessageSpanAttributes, fn: (headers: MsgHdrs | undefined) => Promise<T>): Promise<T> {
  if (!active) return fn(undefined);
  const tracer = trace.getTracer(TRACER);
  return tracer.startActiveSpan(`publish ${a.type ?? a.subject}`, { kind: SpanKind.PRODUCER, attributes: attributesOf(a) }, async (span) => {
    try {
      return await fn(traceHeaders());
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Runs a handler inside a consumer span whose parent is the context the message carried. */
export async function inHandlerSpan<T>(a: MessageSpanAttributes, h: MsgHdrs | undefined, fn: () => Promise<T>): Promise<T> {
  if (!active) return fn();
  const tracer = trace.getTracer(TRACER);
  const parent = contextFrom(h);
  return tracer.startActiveSpan(`handle ${a.type ?? a.subject}`, { kind: SpanKind.CONSUMER, attributes: attributesOf(a) }, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : new Error(String(err)));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
