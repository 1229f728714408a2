import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CandleContract,
  candleMessageId,
  DeadLetterContract,
  DurableWorker,
  InvalidSubjectError,
  InvalidSubjectTokenError,
  KokexError,
  parseSubject,
  SchemaVersionError,
  streamOf,
  subject,
  subjectFilter,
  subjectMatches,
} from '../src/index.js';
import { eventually, startTestNats, type TestNats } from '../src/testing/index.js';
import { WorkContract } from './fixtures/plugins/counter.js';
import { provisionWork } from './support.js';

describe('subject builder and parser', () => {
  it('builds and parses every family with instrument and timeframe last', () => {
    const s = subject('candle', { venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1Dutc' });
    expect(s).toBe('kokex.md.candle.okx.BTC-USDT-SWAP.1Dutc');
    expect(parseSubject(s)).toEqual({ family: 'candle', venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1Dutc' });
    expect(subject('orderIntent', { plan: 'demo', inst: 'ETH-USDT' })).toBe('kokex.order.intent.demo.ETH-USDT');
    expect(parseSubject('kokex.forecast.BTC-USDT.1H')).toEqual({ family: 'forecast', inst: 'BTC-USDT', tf: '1H' });
    expect(subjectFilter('candle', { tf: '1H' })).toBe('kokex.md.candle.*.*.1H');
  });

  it('matches filters token by token, as nats-server does', () => {
    expect(subjectMatches('kokex.md.candle.>', 'kokex.md.candle.okx.BTC-USDT.1m')).toBe(true);
    expect(subjectMatches('kokex.md.candle.>', 'kokex.md.candle')).toBe(false);
    expect(subjectMatches('kokex.*.candle', 'kokex.md.candle')).toBe(true);
    expect(subjectMatches('kokex.*.candle', 'kokex.md.candle.x')).toBe(false);
    expect(subjectMatches('kokex.md', 'kokex.md.candle')).toBe(false);
  });

  it('rejects a bad token with an error naming it', () => {
    expect(() => subject('candle', { venue: 'okx', inst: 'BTC.USDT', tf: '1m' })).toThrow(InvalidSubjectTokenError);
    expect(() => subject('candle', { venue: 'okx', inst: 'BTC.USDT', tf: '1m' })).toThrow(
      `invalid inst token "BTC.USDT": it contains '.' (a subject separator)`,
    );
    expect(() => subject('candle', { venue: 'ok*', inst: 'BTC-USDT', tf: '1m' })).toThrow(
      `invalid venue token "ok*": it contains a wildcard`,
    );
    expect(() => subject('candle', { venue: 'okx', inst: 'BTC USDT', tf: '1m' })).toThrow('contains whitespace');
    expect(() => subject('candle', { venue: 'okx', inst: 'BTC-USDT', tf: '1h' })).toThrow(`invalid tf token "1h": it is not a timeframe`);
    expect(() => subject('agentTurn', { plan: '' })).toThrow(`invalid plan token "": it is empty`);
    expect(() => parseSubject('kokex.md.candle.okx.BTC-USDT.7m')).toThrow(InvalidSubjectError);
    expect(() => parseSubject('other.thing')).toThrow('matches no KOKEX subject family');
  });
});

describe('message contracts', () => {
  it('carry type, schema version, id and correlation id; reject other versions', () => {
    const candle = {
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      tf: '1m',
      ts: 1_700_000_000_000,
      open: 1,
      high: 2,
      low: 0.5,
      close: 1.5,
      volume: 3,
      confirmed: true,
    };
    const { envelope, bytes } = CandleContract.encode(candle, { id: 'c1', correlationId: 'corr-1', source: 'test' });
    expect(envelope).toMatchObject({ type: 'md.candle', v: 1, id: 'c1', correlationId: 'corr-1', source: 'test' });
    expect(CandleContract.decode(bytes).data).toEqual(candle);
    const v2 = JSON.stringify({ ...envelope, v: 2 });
    expect(() => CandleContract.decode(v2)).toThrow(SchemaVersionError);
    expect(() => CandleContract.encode({ ...candle, inst: 'BTC.USDT' })).toThrow(/instrument "BTC.USDT" contains '.'/);
    expect(() => CandleContract.decode('{not json')).toThrow(/not JSON/);
  });
});

describe('bus on a real nats-server', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('provisioning is idempotent and updates a changed config instead of duplicating it', async () => {
    const again = await nats.bus.provision();
    expect(again.every((r) => r.action === 'unchanged')).toBe(true);
    const spec = { name: 'PROV_TEST', subjects: ['prov.>'], maxAgeMs: 60_000 };
    const kv = { bucket: 'prov-kv', history: 2 };
    const first = await nats.bus.provision({ streams: [spec], kv: [kv], objectStores: [{ bucket: 'prov-obj' }] });
    expect(first.map((r) => r.action)).toEqual(['created', 'created', 'created']);
    const changed = await nats.bus.provision({
      streams: [{ ...spec, maxAgeMs: 120_000, subjects: ['prov.>', 'prov2.>'] }],
      kv: [{ ...kv, history: 5 }],
      objectStores: [],
    });
    expect(changed.map((r) => [r.action, r.changes])).toEqual([
      ['updated', ['subjects', 'max_age', 'duplicate_window']],
      ['updated', ['max_msgs_per_subject']],
    ]);
    const names: string[] = [];
    for await (const s of nats.bus.jsm.streams.names()) names.push(s);
    expect(names.filter((n) => n.startsWith('PROV_TEST'))).toEqual(['PROV_TEST']);
    expect((await nats.bus.jsm.streams.info('KV_prov-kv')).config.max_msgs_per_subject).toBe(5);
  });

  it('kvEntries() lists the live entries under a key filter, in key order, without deleted or purged keys', async () => {
    await nats.bus.provision({ streams: [], kv: [{ bucket: 'entries-kv', history: 3 }], objectStores: [] });
    const kv = await nats.bus.kv('entries-kv');
    for (const key of ['b.x', 'a.y', 'a.x', 'c.z', 'a.gone', 'a.purged']) await kv.put(key, key);
    await kv.put('a.x', 'a.x again');
    await kv.delete('a.gone');
    await kv.purge('a.purged');
    const a = await nats.bus.kvEntries('entries-kv', 'a.>');
    expect(a.map((e) => [e.key, e.string()])).toEqual([
      ['a.x', 'a.x again'],
      ['a.y', 'a.y'],
    ]);
    expect((await nats.bus.kvEntries('entries-kv')).map((e) => e.key)).toEqual(['a.x', 'a.y', 'b.x', 'c.z']);
    expect(await nats.bus.kvEntries('entries-kv', 'none.>')).toEqual([]);
    // Many keys: the server pages a long subject list; every key is read.
    await Promise.all(Array.from({ length: 1200 }, (_, i) => kv.put(`many.k${String(i).padStart(4, '0')}`, String(i))));
    const many = await nats.bus.kvEntries('entries-kv', 'many.>');
    expect(many).toHaveLength(1200);
    expect(many.at(-1)?.string()).toBe('1199');
  });

  it('last() answers the newest message of one subject from its topology stream, and undefined when none', async () => {
    const bar = (ts: number, close: number) => ({
      venue: 'okx',
      inst: 'LAST-USDT',
      tf: '1m',
      ts,
      open: 1,
      high: 2,
      low: 0.5,
      close,
      volume: 3,
      confirmed: true,
    });
    const subj = subject('candle', { venue: 'okx', inst: 'LAST-USDT', tf: '1m' });
    expect(streamOf(subj)).toBe('MD_CANDLES');
    expect(await nats.bus.last(subj)).toBeUndefined();
    await nats.bus.publish(CandleContract, subj, bar(1_700_000_040_000, 1.5));
    const second = await nats.bus.publish(CandleContract, subj, bar(1_700_000_100_000, 1.25));
    const last = await nats.bus.last(subj);
    expect(last?.seq).toBe(second.seq);
    expect(last?.stream).toBe('MD_CANDLES');
    expect(CandleContract.decode(last?.data ?? new Uint8Array()).data.close).toBe(1.25);
    await expect(nats.bus.last('nowhere.at.all')).rejects.toThrow(/no KOKEX stream stores subject "nowhere.at.all"/);
  });

  it('drops a second publish with the same message id', async () => {
    const candle = {
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      tf: '1m',
      ts: 1_700_000_040_000,
      open: 1,
      high: 2,
      low: 0.5,
      close: 1.5,
      volume: 3,
      confirmed: true,
    };
    const id = candleMessageId('okx', 'BTC-USDT-SWAP', '1m', candle.ts);
    const s = subject('candle', candle);
    const a = await nats.bus.publish(CandleContract, s, candle, { id });
    const b = await nats.bus.publish(CandleContract, s, candle, { id });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
  });

  it('redelivers with backoff, then dead-letters with the error after N deliveries', async () => {
    await provisionWork(nats.bus, 'DLQ_WORK', ['dlq-test.>']);
    const attempts: number[] = [];
    const worker = new DurableWorker(
      nats.bus,
      { stream: 'DLQ_WORK', durable: 'flaky', filter: 'dlq-test.>', contract: WorkContract, maxDeliver: 3, backoffMs: [50, 100] },
      async (_env, msg) => {
        attempts.push(Date.now());
        throw new KokexError('TEST_DOWNSTREAM', `downstream unavailable (delivery ${msg.info.deliveryCount})`, { retryable: true });
      },
    );
    await worker.start();
    await nats.bus.publish(WorkContract, 'dlq-test.a', { n: 1 }, { id: 'dlq-1' });
    // A payload that is not a valid envelope is dead-lettered at once, without retries.
    await nats.bus.js.publish('dlq-test.b', new TextEncoder().encode('{"garbage":true}'));
    await eventually(() => worker.stats.deadLettered === 2);
    expect(attempts).toHaveLength(3);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(40);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(90);
    const dlq = await nats.bus.js.consumers.get('DEAD_LETTERS');
    const letters = [];
    for (let i = 0; i < 2; i++) {
      const m = await dlq.next({ expires: 2000 });
      if (m) letters.push(DeadLetterContract.decode(m.data).data);
    }
    const bySubject = Object.fromEntries(letters.map((l) => [l.subject, l]));
    expect(bySubject['dlq-test.a']).toMatchObject({
      stream: 'DLQ_WORK',
      consumer: 'flaky',
      deliveries: 3,
      error: { code: 'TEST_DOWNSTREAM', message: 'downstream unavailable (delivery 3)' },
    });
    expect(bySubject['dlq-test.b']?.error.code).toBe('KOKEX_INVALID_MESSAGE');
    expect(bySubject['dlq-test.b']?.deliveries).toBe(1);
    await worker.drain();
    expect(await worker.lag()).toBe(0);
  });

  it('bounds messages in flight', async () => {
    await provisionWork(nats.bus, 'BOUND_WORK', ['bound.>']);
    let inFlight = 0;
    let peak = 0;
    let done = 0;
    const worker = new DurableWorker(
      nats.bus,
      { stream: 'BOUND_WORK', durable: 'bounded', filter: 'bound.>', contract: WorkContract, maxInFlight: 4 },
      async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        done++;
      },
    );
    await Promise.all(Array.from({ length: 60 }, (_, n) => nats.bus.publish(WorkContract, 'bound.x', { n }, { id: `b-${n}` })));
    await worker.start();
    await eventually(() => done === 60);
    expect(peak).toBe(4);
    await worker.drain();
  });
});
