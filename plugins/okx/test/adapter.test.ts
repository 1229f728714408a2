import { resolve } from 'node:path';
import { AdapterRegistry, barOpen, type Candle, ErrorCode, freePort, loadPlugin, type MarketDataAdapter } from '@kokex/core';
import { OkxSimulator, syntheticCandles } from '@kokex/plugin-okx-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { createOkxMarketDataAdapter, OkxErrorCode, type OkxMarketDataAdapter, okxOptionsForMode } from '../src/index.js';
import { waitFor } from './helpers.js';

const MIN = 60_000;
const data = syntheticCandles({ count: 2000, seed: 21 });
const START_AT = (data[0]?.ts as number) + 1000 * MIN;
const fast = { ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100, requestTimeoutMs: 2000 }, http: { retryDelayMs: 10 } };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function simAndAdapter(options: { faults?: object; adapter?: object } = {}) {
  const sim = new OkxSimulator({ data, startAt: START_AT, faults: options.faults, idleTimeoutMs: 0 });
  const { port } = await sim.start({ port: 0 });
  const adapter = createOkxMarketDataAdapter({ mode: 'sim', simPort: port, ...fast, ...options.adapter }, {});
  cleanup.push(
    () => sim.stop(),
    () => adapter.close(),
  );
  return { sim, adapter, port };
}

async function collect(history: AsyncIterable<Candle[]>): Promise<Candle[][]> {
  const pages: Candle[][] = [];
  for await (const page of history) pages.push(page);
  return pages;
}

describe('okx plugin as an exchange adapter', () => {
  it('loads as a plugin and resolves from the registry as exchange:okx', async () => {
    const plugin = await loadPlugin(resolve(import.meta.dirname, '..'));
    expect(plugin.pkg.manifest.adapters).toEqual([
      { port: 'exchange', name: 'okx' },
      { port: 'execution', name: 'okx' },
    ]);
    const registry = new AdapterRegistry();
    for (const a of plugin.definition.adapters ?? []) registry.register(a);
    await expect(registry.resolve('exchange', 'okx', {})).rejects.toMatchObject({ code: ErrorCode.AdapterConfig });
    // Keys never go in configuration, only in the environment.
    await expect(registry.resolve('exchange', 'okx', { mode: 'demo', credentials: { apiKey: 'k' } })).rejects.toMatchObject({
      code: ErrorCode.AdapterConfig,
    });
    const simPort = await freePort();
    const adapter = await registry.resolve<MarketDataAdapter>('exchange', 'okx', { mode: 'sim', simPort });
    expect(adapter.venue).toBe('okx');
    expect((adapter as OkxMarketDataAdapter).clients.rest.transport.baseUrl).toBe(`http://127.0.0.1:${simPort}`);
    // One adapter per configuration: actors on one venue share its clients and rate limits.
    expect(await registry.resolve('exchange', 'okx', { mode: 'sim', simPort })).toBe(adapter);
    await registry.closeAll();
  });

  it('maps the mode to endpoints and the demo flag, with credentials only from the environment', () => {
    const env = { OKX_API_KEY: 'key', OKX_API_SECRET: 'secret', OKX_API_PASSPHRASE: 'pass' };
    const sim = okxOptionsForMode({ mode: 'sim', simHost: '127.0.0.1', simPort: 18080, wsUrls: {} } as never, env);
    expect(sim).toMatchObject({
      demo: true,
      restUrl: 'http://127.0.0.1:18080',
      wsUrls: { business: 'ws://127.0.0.1:18080/ws/v5/business' },
    });
    expect(sim.credentials).toEqual({ apiKey: 'key', secretKey: 'secret', passphrase: 'pass' });
    expect(okxOptionsForMode({ mode: 'live', simHost: 'x', simPort: 1, wsUrls: {} } as never, {})).toMatchObject({
      demo: false,
      wsUrls: {},
    });
    expect(okxOptionsForMode({ mode: 'live', simHost: 'x', simPort: 1, wsUrls: {} } as never, {}).credentials).toBeUndefined();
    expect(okxOptionsForMode({ mode: 'demo', simHost: 'x', simPort: 1, wsUrls: {} } as never, {}).demo).toBe(true);
  });

  it('shares one arg between subscriptions and unsubscribes it when the last one closes', async () => {
    const { sim, adapter } = await simAndAdapter();
    const a: Candle[] = [];
    const b: Candle[] = [];
    const subA = await adapter.subscribeCandles([{ inst: 'BTC-USDT', tf: '1m' }], { onCandle: (c) => a.push(c) });
    const subB = await adapter.subscribeCandles(
      [
        { inst: 'BTC-USDT', tf: '1m' },
        { inst: 'BTC-USDT', tf: '5m' },
      ],
      { onCandle: (c) => b.push(c) },
    );
    sim.stepBars(5);
    await waitFor(() => a.filter((c) => c.confirmed).length === 5 && b.filter((c) => c.confirmed).length === 6);
    expect(a.every((c) => c.tf === '1m')).toBe(true);
    await subA.close();
    expect(sim.connections()[0]?.subscriptions).toBe(2);
    sim.stepBars(1);
    await waitFor(() => b.filter((c) => c.confirmed && c.tf === '1m').length === 6);
    expect(a.filter((c) => c.confirmed)).toHaveLength(5);
    await subB.close();
    await waitFor(() => sim.connections()[0]?.subscriptions === 0);
  });

  it('pages history oldest first and ends at the venue’s current bar (the simulator’s clock, not the wall clock)', async () => {
    const { adapter } = await simAndAdapter();
    expect(await adapter.currentBarOpen('BTC-USDT', '1m')).toBe(START_AT);
    const pages = await collect(adapter.candleHistory({ inst: 'BTC-USDT', tf: '1m', since: START_AT - 700 * MIN }));
    expect(pages.map((p) => p.length)).toEqual([300, 300, 100]);
    const ts = pages.flat().map((c) => c.ts);
    expect([ts[0], ts.at(-1)]).toEqual([START_AT - 700 * MIN, START_AT - MIN]);
    expect(ts.every((t, i) => i === 0 || t - (ts[i - 1] as number) === MIN)).toBe(true);
    // Without `since`: the last 300 bars.
    const recent = (await collect(adapter.candleHistory({ inst: 'BTC-USDT', tf: '1H' }))).flat();
    expect(recent.at(-1)?.ts).toBe(barOpen(START_AT, '1H') - 60 * MIN);
    expect(recent.every((c) => c.confirmed)).toBe(true);
  });

  it('maps instruments and tickers to core types, and names an unknown instrument', async () => {
    const { adapter } = await simAndAdapter();
    expect(await adapter.instrument('BTC-USDT-SWAP')).toMatchObject({
      venue: 'okx',
      inst: 'BTC-USDT-SWAP',
      instType: 'SWAP',
      contractValue: 0.01,
    });
    expect(await adapter.instrument('BTC-USDT')).toMatchObject({ instType: 'SPOT', contractValue: 1, baseCcy: 'BTC', quoteCcy: 'USDT' });
    await expect(adapter.instrument('NOPE-USDT')).rejects.toMatchObject({ code: OkxErrorCode.InstrumentUnknown });
    const ticker = await adapter.ticker('BTC-USDT');
    expect(ticker).toMatchObject({ inst: 'BTC-USDT', ts: expect.any(Number) });
    expect(ticker.last).toBeGreaterThan(0);
  });

  it('refuses an instrument the venue refuses, with the venue’s code', async () => {
    const { adapter } = await simAndAdapter();
    await expect(adapter.subscribeCandles([{ inst: 'NOPE-USDT', tf: '1m' }], { onCandle: () => undefined })).rejects.toMatchObject({
      code: OkxErrorCode.WsSubscribe,
      okxCode: '60018',
    });
  });

  it('subscribes while the venue is down, reports it, and says when it resubscribed', async () => {
    const port = await freePort();
    const adapter = createOkxMarketDataAdapter({ mode: 'sim', simPort: port, ...fast }, {});
    cleanup.push(() => adapter.close());
    const errors: unknown[] = [];
    let resubscribed = 0;
    const candles: Candle[] = [];
    await adapter.subscribeCandles([{ inst: 'BTC-USDT', tf: '1m' }], {
      onCandle: (c) => candles.push(c),
      onResubscribed: () => resubscribed++,
      onError: (e) => errors.push(e),
    });
    expect(errors[0]).toMatchObject({ code: expect.stringMatching(/^OKX_/) });
    const sim = new OkxSimulator({ data, startAt: START_AT, idleTimeoutMs: 0 });
    await sim.start({ port });
    cleanup.push(() => sim.stop());
    await waitFor(() => resubscribed >= 1, 5000, 'resubscribe');
    sim.stepBars(2);
    await waitFor(() => candles.filter((c) => c.confirmed).length === 2);
  });

  it('turns malformed REST bodies into typed errors', async () => {
    const { adapter } = await simAndAdapter({ faults: { malformedBodies: 1 }, adapter: { http: { maxRetries: 0 } } });
    await expect(
      collect(adapter.candleHistory({ inst: 'BTC-USDT', tf: '1m', since: START_AT - 10 * MIN, until: START_AT })),
    ).rejects.toMatchObject({
      code: OkxErrorCode.MalformedResponse,
      retryable: true,
    });
  });
});
