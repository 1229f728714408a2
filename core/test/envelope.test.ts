import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { causedBy, defineContract, EventMarketClock, MarketClocks, ManualClock, marketClockFor } from '../src/index.js';

const Note = defineContract({ type: 'test.note', version: 1, schema: z.object({ text: z.string() }) });

describe('market time in the envelope', () => {
  it('carries eventTime beside the wall time; live producers default it to the wall time', () => {
    const live = Note.envelope({ text: 'a' }, { time: 1_000 });
    expect(live.eventTime).toBe(1_000);
    const replayed = Note.envelope({ text: 'b' }, { time: 5_000_000, eventTime: 1_451_606_400_000 });
    expect(replayed.time).toBe(5_000_000);
    expect(Note.decode(Note.encode({ text: 'b' }, { time: 5, eventTime: 7 }).bytes).eventTime).toBe(7);
  });

  it('reads messages stored before eventTime existed as their wall time', () => {
    const old = { type: 'test.note', v: 1, id: 'x', correlationId: 'x', time: 42, source: 's', data: { text: 'old' } };
    expect(Note.parse(old).eventTime).toBe(42);
  });

  it('refuses a market time that is not a finite, non-negative number', () => {
    expect(() => Note.envelope({ text: 'a' }, { eventTime: Number.NaN })).toThrow(/eventTime must be a finite/);
    expect(() => Note.envelope({ text: 'a' }, { eventTime: -1 })).toThrow(/eventTime/);
    const forged = { type: 'test.note', v: 1, id: 'x', correlationId: 'x', time: 1, eventTime: 'soon', source: 's', data: { text: 'a' } };
    expect(() => Note.parse(forged)).toThrow(/eventTime/);
  });

  it('hands correlation, causation and market time down the chain', () => {
    const candle = Note.envelope({ text: 'bar' }, { time: 9_999, eventTime: 60_000 });
    const forecast = Note.envelope({ text: 'forecast' }, causedBy(candle, { time: 10_500 }));
    expect(forecast).toMatchObject({ correlationId: candle.id, causationId: candle.id, eventTime: 60_000, time: 10_500 });
    const intent = Note.envelope({ text: 'intent' }, causedBy(forecast));
    expect(intent).toMatchObject({ correlationId: candle.id, causationId: forecast.id, eventTime: 60_000 });
    // An explicit market time (the venue's own timestamp) wins over the inherited one.
    expect(Note.envelope({ text: 'fill' }, causedBy(intent, { eventTime: 61_000 })).eventTime).toBe(61_000);
  });
});

describe('market clocks', () => {
  it('a replay clock follows the data forward only and ignores the wall clock', () => {
    const clock = new EventMarketClock();
    expect(clock.now()).toBeUndefined();
    clock.observe(1_000);
    clock.observe(500);
    clock.observe(Number.NaN);
    expect(clock.now()).toBe(1_000);
    clock.observe(2_000);
    expect(clock.now()).toBe(2_000);
  });

  it('live modes read the wall clock; sim and backtest read the data', () => {
    const wall = new ManualClock(10_000);
    const live = marketClockFor('live', wall);
    live.observe(1);
    expect(live.now()).toBe(10_000);
    wall.advance(5);
    expect(live.now()).toBe(10_005);
    expect(marketClockFor('sim', wall).kind).toBe('event');
    expect(marketClockFor('backtest', wall).kind).toBe('event');
    expect(marketClockFor('paper', wall).kind).toBe('wall');
  });

  it('keeps one clock per plan, and a fresh one when the plan changes mode', () => {
    const clocks = new MarketClocks(new ManualClock(0));
    const a = clocks.of('demo', 'sim');
    a.observe(123);
    expect(clocks.of('demo', 'sim').now()).toBe(123);
    expect(clocks.of('other', 'sim').now()).toBeUndefined();
    expect(clocks.of('demo', 'live').kind).toBe('wall');
  });
});

describe('numbers on the wire', () => {
  const Sized = defineContract({ type: 'test.sized', version: 1, schema: z.object({ size: z.number().positive(), legs: z.array(z.object({ px: z.number() })) }) });

  it('refuses a number that is not finite anywhere in a message, also when it arrives as 1e999 text', () => {
    expect(() => Sized.envelope({ size: Number.POSITIVE_INFINITY, legs: [] })).toThrow(/size: expected a finite number/);
    const forged = '{"type":"test.sized","v":1,"id":"x","correlationId":"x","time":1,"source":"s","data":{"size":1,"legs":[{"px":1},{"px":-1e999}]}}';
    expect(() => Sized.decode(forged)).toThrow(/legs\[1\]\.px: expected a finite number/);
    expect(Sized.decode(forged.replace('-1e999', '2')).data.legs[1]?.px).toBe(2);
  });
});
