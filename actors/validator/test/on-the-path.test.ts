import { resolve } from 'node:path';
import {
  ActorHost,
  type Candle,
  CandleContract,
  type Envelope,
  publishRawCandles,
  type QualityMessage,
  RawCandleContract,
  Streams,
  subject,
  subjectFilter,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 10 item 1: the validator is on the path, not beside it. Bad bars published onto the raw
 * subject never reach MD_CANDLES, the stream every downstream reader (inferencer, agent, risk
 * guard, trainer, paper venue) consumes; good bars do, each once, caused by its raw message; and
 * md.quality names each bad one. The downstream side is a durable consumer on MD_CANDLES created
 * before anything is published, exactly what those readers hold.
 */
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5);
const at = (n: number) => T0 + n * MIN;
const key = { venue: 'okx', inst: 'PATH-USDT', tf: '1m' };
const bar = (n: number, patch: Partial<Record<keyof Candle, unknown>> = {}) => ({
  ...key,
  ts: at(n),
  open: 100 + n,
  high: 102 + n,
  low: 99 + n,
  close: 101 + n,
  volume: 1 + n,
  confirmed: true,
  ...patch,
});

let nats: TestNats;
let host: ActorHost;

beforeAll(async () => {
  nats = await startTestNats();
  // The validator alone, no plan: PATH-USDT is a series no plan names, so nothing is backfilled and
  // the slots the bad bars leave stay empty (what reaches MD_CANDLES is only what was published).
  host = new ActorHost({ bus: nats.bus, log: captureLogger('error').log, config: { validator: { contextTimeframes: [], gapGraceMs: 100 } } });
  await host.loadPlugin(resolve(import.meta.dirname, '..'));
  await host.start();
});
afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

/** Raw bytes onto the raw subject, as any producer could send them: no contract check on the way in (a NaN becomes null). */
async function publishRawBytes(data: unknown, id: string) {
  const envelope = { type: 'md.raw', v: 1, id, correlationId: `corr-${id}`, time: Date.now(), source: 'test', data };
  await nats.bus.js.publish(subject('rawCandle', key), JSON.stringify(envelope), { msgID: id });
}

async function quality(): Promise<QualityMessage[]> {
  const out: QualityMessage[] = [];
  const stream = await nats.bus.js.streams.get(Streams.quality);
  const info = await nats.bus.jsm.streams.info(Streams.quality);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await stream.getMessage({ seq }).catch(() => null);
    if (m?.subject === subject('quality', key)) out.push(m.json<{ data: QualityMessage }>().data);
  }
  return out;
}

describe('validator on the path: raw bars in, validated bars out', () => {
  it('lets no bad raw bar reach MD_CANDLES (and so nothing downstream), passes the good ones, and names each bad one in md.quality', async () => {
    // Downstream: a durable consumer on every validated candle, as the inferencer and the agent have.
    await nats.bus.jsm.consumers.add(Streams.candles, { durable_name: 'downstream', filter_subject: subjectFilter('candle'), ack_policy: 'explicit' });
    const downstream: Envelope<Candle>[] = [];
    const consumer = await nats.bus.js.consumers.get(Streams.candles, 'downstream');
    const reading = (async () => {
      for await (const m of await consumer.consume()) {
        // The same strict decode every downstream reader does: a bad bar here would throw.
        downstream.push(CandleContract.decode(m.data));
        m.ack();
      }
    })();

    // Good bars 0, 1, 2 (2 with its own correlation id), then the bad ones among more good ones.
    await publishRawCandles(nats.bus, [bar(0), bar(1)] as Candle[], { source: 'test' });
    await nats.bus.publish(RawCandleContract, subject('rawCandle', key), bar(2), { id: 'first-2', correlationId: 'corr-2' });
    await eventually(() => downstream.length === 3);
    await publishRawBytes(bar(3, { high: 98, low: 99 }), 'high-below-low-3');
    await publishRawBytes(bar(4, { close: Number.NaN }), 'nan-4');
    await publishRawBytes(bar(5, { ts: at(5) + 30_000 }), 'off-grid-5');
    await publishRawBytes(bar(2, { close: 150, high: 151 }), 'other-prices-2');
    await publishRawBytes(bar(1), 'same-again-1');
    await publishRawCandles(nats.bus, [bar(6), bar(7)] as Candle[], { source: 'test' });

    await eventually(async () => (await quality()).filter((q) => q.kind === 'quarantine').length === 4);
    await eventually(() => downstream.length === 5);
    // Give a wrongly published bar time to show up before judging that none did.
    const rawPending = async () => (await nats.bus.jsm.consumers.info(Streams.raw, 'validator')).num_pending;
    await eventually(async () => (await rawPending()) === 0);
    await new Promise((r) => setTimeout(r, 300));

    // Downstream saw the good bars only, each once, as first published, caused by its raw message.
    expect(downstream.map((e) => (e.data.ts - T0) / MIN)).toEqual([0, 1, 2, 6, 7]);
    const two = downstream.find((e) => e.data.ts === at(2));
    expect(two?.data).toMatchObject({ close: 103, high: 104 });
    expect(two).toMatchObject({ id: `okx:PATH-USDT:1m:${at(2)}`, causationId: 'first-2', correlationId: 'corr-2' });
    const stored = await nats.bus.jsm.streams.info(Streams.candles, { subjects_filter: subject('candle', key) });
    expect(stored.state.subjects?.[subject('candle', key)]).toBe(5);

    // md.quality names each bad bar: where it was, why, and the message that carried it.
    const quarantined = (await quality()).filter((q) => q.kind === 'quarantine');
    expect(quarantined.map((q) => q.kind === 'quarantine' && [q.ts, q.reasons, q.origin, q.messageId])).toEqual([
      [at(3), ['ohlc'], 'raw', 'high-below-low-3'],
      [at(4), ['schema'], 'raw', 'nan-4'],
      [at(5) + 30_000, ['alignment'], 'raw', 'off-grid-5'],
      [at(2), ['duplicate'], 'raw', 'other-prices-2'],
    ]);
    const [ohlc, nan] = quarantined;
    expect(ohlc?.kind === 'quarantine' && ohlc.detail).toMatch(/high 98 is below/);
    expect(nan?.kind === 'quarantine' && nan.detail).toMatch(/close null is not a positive number/);
    // The same bar again with the same prices is a repeat: counted, not reported, not republished.
    const status = host.instances().find((i) => i.kind === 'validator')?.status().detail as { series: Array<Record<string, unknown>> };
    expect(status.series.find((s) => s.id === 'okx:PATH-USDT:1m')).toMatchObject({ rejected: 4, duplicates: 2 });

    consumer.delete().catch(() => undefined);
    await Promise.race([reading, new Promise((r) => setTimeout(r, 100))]);
  });
});
