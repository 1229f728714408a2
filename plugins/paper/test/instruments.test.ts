import { AdapterPort, AdapterRegistry, adapterFor, CandleContract, type InstrumentInfo, subject } from '@kokex/core';
import { eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { binanceExchangeAdapter } from '@kokex/plugin-binance';
import { BinanceSimulator, syntheticBars } from '@kokex/plugin-binance-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaperExecutionAdapter, type PaperExecutionAdapter, paperExecutionAdapter } from '../src/index.js';

/**
 * Contract values come from the instrument rules of the plan's venue, not from a table of OKX
 * swaps: a paper plan on a Binance USDⓈ-M symbol (`BTCUSDT`, one base unit per contract, lot 0.001)
 * trades, with the rules read from the Binance simulator through the binance exchange adapter,
 * lent to the paper venue the way the executor lends them (`AdapterContext.instrument`).
 */
const MIN = 60_000;
const SYMBOL = 'BTCUSDT';
let nats: TestNats;
let sim: BinanceSimulator;
let registry: AdapterRegistry;
let simPort: number;
const opened: PaperExecutionAdapter[] = [];
const asked: string[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  const start = Math.floor(Date.now() / MIN) * MIN - 300 * MIN;
  sim = new BinanceSimulator({ data: syntheticBars({ count: 400, start, startPrice: 40_000 }), startAt: start + 200 * MIN });
  ({ port: simPort } = await sim.start({ port: 0 }));
  registry = new AdapterRegistry();
  registry.register(binanceExchangeAdapter);
  registry.register(paperExecutionAdapter);
});

afterAll(async () => {
  for (const a of opened) await a.close();
  await registry?.closeAll();
  await sim?.stop();
  await nats?.stop();
});

/** What the executor lends: the plan venue's exchange adapter in the plan's mode, asked for one instrument. */
const rules = async (inst: string): Promise<InstrumentInfo> => {
  asked.push(inst);
  const exchange = await adapterFor(registry, AdapterPort.exchange, { name: 'binance', mode: 'sim' }, { binance: { simPort } });
  return exchange.instrument(inst);
};

async function paperOnBinance(account: string): Promise<PaperExecutionAdapter> {
  const a = (await adapterFor(registry, AdapterPort.execution, {
    name: 'paper',
    mode: 'paper',
    config: { account, candles: { venue: 'binance', tf: '1m' }, slippage: 0, takerFee: 0.001 },
    context: { bus: nats.bus, instrument: rules },
  })) as PaperExecutionAdapter;
  opened.push(a);
  return a;
}

async function candle(inst: string, close: number, ts: number): Promise<void> {
  const c = { venue: 'binance', inst, tf: '1m', ts, open: close, high: close, low: close, close, volume: 1, confirmed: true };
  await nats.bus.publish(CandleContract, subject('candle', { venue: 'binance', inst, tf: '1m' }), c, { id: `c:${inst}:${ts}` });
}

describe('paper venue on a Binance symbol, with the venue’s instrument rules', () => {
  it('trades BTCUSDT at contract value 1 with the venue’s lot: fees and PnL in base units', async () => {
    const now = Math.floor(Date.now() / MIN) * MIN;
    await candle(SYMBOL, 40_000, now - 3 * MIN);
    const paper = await paperOnBinance('bnb1');
    const placed = await paper.placeOrder({
      inst: SYMBOL,
      side: 'buy',
      size: 0.05,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'b1',
    });
    expect(placed).toMatchObject({ accepted: true });
    await candle(SYMBOL, 40_400, now);
    await eventually(async () => (await paper.getOrder({ inst: SYMBOL, clientOrderId: 'b1' }))?.state === 'filled');
    expect(await paper.positions()).toMatchObject([{ inst: SYMBOL, size: 0.05, avgPrice: 40_400 }]);
    // One contract is one BTC: the fee is on 0.05 BTC of notional (0.01 per contract would be 100x less).
    expect((await paper.balances())[0]?.total).toBeCloseTo(10_000 - 0.05 * 40_400 * 0.001, 8);

    const closed = await paper.placeOrder({
      inst: SYMBOL,
      side: 'sell',
      size: 0.05,
      type: 'market',
      reduceOnly: true,
      clientOrderId: 'b2',
    });
    expect(closed).toMatchObject({ accepted: true });
    await candle(SYMBOL, 40_800, now + MIN);
    await eventually(async () => (await paper.getOrder({ inst: SYMBOL, clientOrderId: 'b2' }))?.state === 'filled');
    expect(await paper.positions()).toEqual([]);
    const pnl = 0.05 * (40_800 - 40_400) * 1;
    expect((await paper.balances())[0]?.total).toBeCloseTo(10_000 + pnl - 0.05 * 40_400 * 0.001 - 0.05 * 40_800 * 0.001, 8);
    // The rules were asked once for the symbol, not per order.
    expect(asked.filter((x) => x === SYMBOL)).toEqual([SYMBOL]);
  });

  it('takes the lot from the rules and refuses a symbol the venue does not list', async () => {
    const paper = await paperOnBinance('bnb2');
    const odd = await paper.placeOrder({ inst: SYMBOL, side: 'buy', size: 0.0005, type: 'market', reduceOnly: false, clientOrderId: 'o1' });
    expect(odd).toMatchObject({ accepted: false, reason: 'size 0.0005 is not a multiple of the lot 0.001' });
    const unknown = await paper.placeOrder({
      inst: 'NOPEUSDT',
      side: 'buy',
      size: 1,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'o2',
    });
    expect(unknown.accepted).toBe(false);
    expect(unknown.reason).toMatch(/^NOPEUSDT: /);
  });

  it('without the rules a Binance symbol is refused rather than guessed; the configuration still decides', async () => {
    const bare = createPaperExecutionAdapter({ account: 'bnb3', candles: { venue: 'binance', tf: '1m' } }, nats.bus);
    opened.push(bare);
    const refused = await bare.placeOrder({
      inst: SYMBOL,
      side: 'buy',
      size: 0.05,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'n1',
    });
    expect(refused).toMatchObject({
      accepted: false,
      reason: `unknown contract value of ${SYMBOL}; set it in the paper adapter's instruments`,
    });
    const configured = createPaperExecutionAdapter(
      { account: 'bnb4', candles: { venue: 'binance', tf: '1m' }, instruments: { [SYMBOL]: { contractValue: 1, lotSize: 0.001 } } },
      nats.bus,
    );
    opened.push(configured);
    const ok = await configured.placeOrder({
      inst: SYMBOL,
      side: 'buy',
      size: 0.05,
      type: 'market',
      reduceOnly: false,
      clientOrderId: 'n2',
    });
    expect(ok).toMatchObject({ accepted: true });
  });

  it('a venue that cannot be reached fails the placement retryably (the executor tries again), never refuses it', async () => {
    // The binance adapter aimed at a port where no simulator listens (the simulator, stopped).
    const gone = new BinanceSimulator({ data: syntheticBars({ count: 10, start: 0 }) });
    const { port: deadPort } = await gone.start({ port: 0 });
    await gone.stop();
    const unreachable = async (inst: string) =>
      (
        await adapterFor(
          registry,
          AdapterPort.exchange,
          { name: 'binance', mode: 'sim' },
          { binance: { simPort: deadPort, http: { maxRetries: 0, timeoutMs: 2000 } } },
        )
      ).instrument(inst);
    const down = createPaperExecutionAdapter({ account: 'bnb5', candles: { venue: 'binance', tf: '1m' } }, nats.bus, Date.now, unreachable);
    opened.push(down);
    await expect(
      down.placeOrder({ inst: SYMBOL, side: 'buy', size: 0.05, type: 'market', reduceOnly: false, clientOrderId: 'd1' }),
    ).rejects.toMatchObject({ code: 'PAPER_INSTRUMENT_UNAVAILABLE', retryable: true });
  });
});
