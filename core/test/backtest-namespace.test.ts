import { AckPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRunStreams, NamespaceMap, NamespaceRelay, newRunNamespace } from '../src/backtest/namespace.js';
import { type Bus, connectBus } from '../src/bus/bus.js';
import { subject } from '../src/bus/subjects.js';
import { Buckets, KOKEX_TOPOLOGY, ObjectStores, Streams } from '../src/bus/topology.js';
import { startTestNats, type TestNats } from '../src/testing/index.js';

/**
 * The relay behind `kokex backtest --nats URL`: a bus connected through it sees core's topology,
 * the server holds the run's names, and a live plan's streams, buckets and subjects on the same
 * server stay out of its sight and untouched. Real nats-server, real clients on both sides.
 */
const enc = new TextEncoder();
const dec = new TextDecoder();
const ns = newRunNamespace('r1');
const candle = subject('candle', { venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m' });
let nats: TestNats;
let relay: NamespaceRelay;
let run: Bus;
let live: Bus;

beforeAll(async () => {
  nats = await startTestNats();
  live = nats.bus;
  relay = new NamespaceRelay(ns, { host: '127.0.0.1', port: Number(new URL(nats.url).port) });
  await relay.start();
  run = await connectBus({ url: relay.url, name: 'run' });
  await run.provision();
  await live.js.publish(candle, enc.encode('live candle'), { msgID: 'live-1' });
  await (await live.kv(Buckets.plans)).put('bt', enc.encode('live plan'));
});

afterAll(async () => {
  await run?.close();
  await relay?.stop();
  await nats?.stop();
});

describe('the namespace map', () => {
  it('maps names and subjects both ways and keeps what is not the run’s out', () => {
    const m = new NamespaceMap(ns);
    expect(m.streamOut('MD_CANDLES')).toBe('kxbt-r1-MD_CANDLES');
    expect(m.streamOut('KV_kokex-plans')).toBe('KV_kxbt-r1-kokex-plans');
    expect(m.streamOut(m.streamOut('OBJ_kokex-artifacts'))).toBe('OBJ_kxbt-r1-kokex-artifacts');
    expect(m.streamIn('KV_kxbt-r1-kokex-plans')).toBe('KV_kokex-plans');
    expect(m.streamIn('MD_CANDLES')).toBeUndefined();
    expect(m.subjectOut('kokex.md.candle.>')).toBe('kxbt.r1.kokex.md.candle.>');
    expect(m.subjectOut('$KV.kokex-plans.bt')).toBe('$KV.kxbt-r1-kokex-plans.bt');
    expect(m.subjectOut('$JS.API.CONSUMER.CREATE.MD_CANDLES.c1.kokex.md.candle.>')).toBe(
      '$JS.API.CONSUMER.CREATE.kxbt-r1-MD_CANDLES.c1.kxbt.r1.kokex.md.candle.>',
    );
    expect(m.subjectOut('$JS.API.STREAM.MSG.GET.ORDERS')).toBe('$JS.API.STREAM.MSG.GET.kxbt-r1-ORDERS');
    expect(m.subjectOut('$JS.ACK.MD_CANDLES.c1.1.2.3.4.5')).toBe('$JS.ACK.kxbt-r1-MD_CANDLES.c1.1.2.3.4.5');
    expect(m.subjectIn('$JS.ACK.kxbt-r1-MD_CANDLES.c1.1.2.3.4.5')).toBe('$JS.ACK.MD_CANDLES.c1.1.2.3.4.5');
    expect(m.subjectOut('_INBOX.abc.1')).toBe('_INBOX.abc.1');
    expect(m.subjectIn('kokex.md.candle.okx.BTC-USDT-SWAP.1m')).toBeUndefined();
    expect(m.subjectIn('kxbt.other.kokex.md.candle.okx.BTC-USDT-SWAP.1m')).toBeUndefined();
    expect(m.subjectIn('$KV.kokex-plans.bt')).toBeUndefined();
  });
});

describe('a bus through the relay', () => {
  it('provisions the topology under the run’s names and lists only those', async () => {
    const seen: string[] = [];
    for await (const s of run.jsm.streams.list()) seen.push(s.config.name);
    const expected = [
      ...KOKEX_TOPOLOGY.streams.map((s) => s.name),
      ...KOKEX_TOPOLOGY.kv.map((k) => `KV_${k.bucket}`),
      ...KOKEX_TOPOLOGY.objectStores.map((o) => `OBJ_${o.bucket}`),
    ].sort();
    expect(seen.sort()).toEqual(expected);
    const onServer: string[] = [];
    for await (const s of live.jsm.streams.list()) onServer.push(s.config.name);
    for (const name of expected) {
      expect(onServer).toContain(name);
      expect(onServer).toContain(new NamespaceMap(ns).streamOut(name));
    }
    const info = await run.jsm.streams.info(Streams.candles);
    expect(info.config.subjects).toEqual(['kokex.md.candle.>']);
  });

  it('publishes, reads back and consumes in its own streams, with the stream names it knows', async () => {
    const ack = await run.js.publish(candle, enc.encode('run candle'), { msgID: 'run-1' });
    expect(ack.stream).toBe(Streams.candles);
    const last = await run.last(candle);
    expect(last && dec.decode(last.data)).toBe('run candle');
    expect(last?.subject).toBe(candle);
    // The live stream holds the live candle only; the run's holds the run's on its own subject.
    expect((await live.jsm.streams.info(Streams.candles)).state.messages).toBe(1);
    const stored = await live.jsm.streams.getMessage(`kxbt-r1-${Streams.candles}`, { seq: 1 });
    expect(stored?.subject).toBe(`kxbt.r1.${candle}`);

    await run.jsm.consumers.add(Streams.candles, { durable_name: 'c1', filter_subject: candle, ack_policy: AckPolicy.Explicit });
    const m = await (await run.js.consumers.get(Streams.candles, 'c1')).next({ expires: 2000 });
    expect(m?.subject).toBe(candle);
    expect(m?.info.stream).toBe(Streams.candles);
    await m?.ackAck();
    const c = await run.jsm.consumers.info(Streams.candles, 'c1');
    expect(c.stream_name).toBe(Streams.candles);
    expect(c.config.filter_subject).toBe(candle);
    expect(c.num_ack_pending + c.num_pending).toBe(0);
    await expect(live.jsm.consumers.info(Streams.candles, 'c1')).rejects.toThrow();
  });

  it('keeps KV and object stores of its own, watch included', async () => {
    const kv = await run.kv(Buckets.plans);
    expect(await kv.get('bt')).toBeNull();
    await kv.put('bt', enc.encode('run plan'));
    expect(dec.decode((await kv.get('bt'))?.value)).toBe('run plan');
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    expect(keys).toEqual(['bt']);
    const watch = await kv.watch({ key: 'bt' });
    for await (const e of watch) {
      expect(dec.decode(e.value)).toBe('run plan');
      break;
    }
    expect(dec.decode((await (await live.kv(Buckets.plans)).get('bt'))?.value)).toBe('live plan');
    const os = await run.objectStore(ObjectStores.artifacts);
    await os.putBlob({ name: 'model.onnx' }, enc.encode('weights'));
    expect(dec.decode((await os.getBlob('model.onnx')) ?? undefined)).toBe('weights');
    expect(await (await live.objectStore(ObjectStores.artifacts)).info('model.onnx')).toBeNull();
  });

  it('hears only its own core NATS subjects, even through a full wildcard', async () => {
    const got: string[] = [];
    const all = run.nc.subscribe('>', {
      callback: (_e, m) => {
        if (m.subject.startsWith('kokex.')) got.push(m.subject);
      },
    });
    const service = run.nc.subscribe('kokex.ctl.okx-sim.status', {
      callback: (_e, m) => {
        m.respond(enc.encode('run answers'));
      },
    });
    await run.nc.flush();
    live.nc.publish('kokex.md.live.okx.BTC-USDT-SWAP.1m', enc.encode('live'));
    run.nc.publish('kokex.md.live.okx.ETH-USDT-SWAP.1m', enc.encode('run'));
    const reply = await run.nc.request('kokex.ctl.okx-sim.status', enc.encode('{}'), { timeout: 2000 });
    expect(dec.decode(reply.data)).toBe('run answers');
    // A live request on the plain subject finds no run service.
    await expect(live.nc.request('kokex.ctl.okx-sim.status', enc.encode('{}'), { timeout: 500 })).rejects.toThrow();
    await run.nc.flush();
    all.unsubscribe();
    service.unsubscribe();
    expect(got).toContain('kokex.md.live.okx.ETH-USDT-SWAP.1m');
    expect(got).toContain('kokex.ctl.okx-sim.status');
    expect(got).not.toContain('kokex.md.live.okx.BTC-USDT-SWAP.1m');
    expect(relay.dropped).toBeGreaterThan(0);
  });

  it('deletes the run’s streams, buckets and object stores and nothing else', async () => {
    const deleted = await deleteRunStreams(live, ns);
    expect(deleted.length).toBe(KOKEX_TOPOLOGY.streams.length + KOKEX_TOPOLOGY.kv.length + KOKEX_TOPOLOGY.objectStores.length);
    const left: string[] = [];
    for await (const s of live.jsm.streams.list()) left.push(s.config.name);
    expect(left.some((n) => n.includes('kxbt-'))).toBe(false);
    expect((await live.jsm.streams.info(Streams.candles)).state.messages).toBe(1);
  });
});
