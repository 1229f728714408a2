import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableWorker, startTracing, type Tracing, tracingRequested } from '../src/index.js';
import { eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { WorkContract } from './fixtures/plugins/counter.js';
import { provisionWork } from './support.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string } }>;
}

/** A local OTLP/HTTP (JSON) receiver: what a collector is to the exporter. */
function otlpReceiver(): Promise<{ server: Server; url: string; spans: OtlpSpan[] }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans })));
}

let nats: TestNats;
let tracing: Tracing | undefined;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  nats = await startTestNats();
  await provisionWork(nats.bus, 'TRACE_WORK', ['trace.>']);
  tracing = startTracing({ serviceName: 'test-process', exporter, simple: true });
});
afterAll(async () => {
  await tracing?.shutdown();
  await nats?.stop();
});

describe('traces across the bus', () => {
  it('is off unless the OTEL variables ask for it', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(false);
  });

  it('links publish → handle → publish → handle in one trace, with subject, consumer and correlation id', async () => {
    exporter.reset();
    const handled: string[] = [];
    const first = new DurableWorker(nats.bus, { stream: 'TRACE_WORK', durable: 'first', filter: 'trace.local.a', contract: WorkContract }, async (env) => {
      await nats.bus.publish(WorkContract, 'trace.local.b', { n: 2 }, { correlationId: env.correlationId, causationId: env.id });
    });
    const second = new DurableWorker(nats.bus, { stream: 'TRACE_WORK', durable: 'second', filter: 'trace.local.b', contract: WorkContract }, async (env) => {
      handled.push(env.correlationId);
    });
    await first.start();
    await second.start();
    const { envelope } = await nats.bus.publish(WorkContract, 'trace.local.a', { n: 1 });
    await eventually(() => handled.length === 1);
    await first.drain();
    await second.drain();
    const spans = exporter.getFinishedSpans();
    const span = (verb: 'publish' | 'handle', subject: string) =>
      spans.find((s) => s.name === `${verb} test.work` && s.attributes['messaging.destination.name'] === subject);
    const [pubA, handleA, pubB, handleB] = [
      span('publish', 'trace.local.a'),
      span('handle', 'trace.local.a'),
      span('publish', 'trace.local.b'),
      span('handle', 'trace.local.b'),
    ];
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(handleA?.parentSpanContext?.spanId).toBe(pubA?.spanContext().spanId);
    expect(pubB?.parentSpanContext?.spanId).toBe(handleA?.spanContext().spanId);
    expect(handleB?.parentSpanContext?.spanId).toBe(pubB?.spanContext().spanId);
    expect(handleB?.attributes).toMatchObject({
      'messaging.destination.name': 'trace.local.b',
      'messaging.consumer.group.name': 'second',
      'kokex.correlation_id': envelope.id,
    });
  });

  it('one trace spans two processes, the other exporting over OTLP as OTEL_EXPORTER_OTLP_ENDPOINT says', async () => {
    exporter.reset();
    const receiver = await otlpReceiver();
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', '--conditions=kokex-source', resolve(__dirname, 'fixtures/trace-relay.ts')], {
        env: { ...process.env, NATS_URL: nats.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((ready) => child?.stdout?.on('data', (d) => String(d).includes('ready') && ready()));
      const got: number[] = [];
      const back = new DurableWorker(nats.bus, { stream: 'TRACE_WORK', durable: 'back', filter: 'trace.relay.out', contract: WorkContract }, async (env) => {
        got.push(env.data.n);
      });
      await back.start();
      await nats.bus.publish(WorkContract, 'trace.relay.in', { n: 41 });
      await eventually(() => got.length === 1, 10_000);
      await back.drain();
      await eventually(() => receiver.spans.length >= 2, 10_000);
      const local = exporter.getFinishedSpans();
      const traceIds = new Set([...local.map((s) => s.spanContext().traceId), ...receiver.spans.map((s) => s.traceId)]);
      expect(traceIds.size).toBe(1);
      const remoteHandle = receiver.spans.find((s) => s.name === 'handle test.work');
      const localPublish = local.find((s) => s.name === 'publish test.work' && s.attributes['messaging.destination.name'] === 'trace.relay.in');
      expect(remoteHandle?.parentSpanId).toBe(localPublish?.spanContext().spanId);
      const remotePublish = receiver.spans.find((s) => s.name === 'publish test.work');
      const localHandle = local.find((s) => s.name === 'handle test.work');
      expect(localHandle?.parentSpanContext?.spanId).toBe(remotePublish?.spanId);
    } finally {
      child?.kill('SIGTERM');
      receiver.server.close();
    }
  });
});
