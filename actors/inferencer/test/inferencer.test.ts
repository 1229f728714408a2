import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActorHost,
  applyPlan,
  CandleContract,
  type CommandIo,
  candleMessageId,
  ForecastContract,
  latestModel,
  ModelReadyContract,
  registerModel,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { FORECAST_REQUEST_SUBJECT, forecastCommand, SHIPPED_MODEL_DIR, SKILL_BUCKET, seriesFromPlan, skillCommand } from '../src/index.js';
import { HOUR, hourlyCandles, INFERENCER_DIR, publishCandles, testPlan } from './support.js';

/**
 * The inferencer end to end on a real nats-server: history replayed from MD_CANDLES, a forecast per
 * closed candle with the candle's correlation id, scoring as the horizon closes, requests batched
 * across series, and a model swap on model.ready in the middle of a burst of requests.
 */
const START = Date.UTC(2026, 0, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BTC = 'BTC-USDT-SWAP';
const ETH = 'ETH-USDT-SWAP';
let nats: TestNats;
let host: ActorHost;

async function lastForecast(inst: string) {
  const m = await nats.bus.jsm.streams
    .getMessage(Streams.forecasts, { last_by_subj: subject('forecast', { inst, tf: '1H' }) })
    .catch(() => null);
  return m ? ForecastContract.decode(m.data) : undefined;
}

async function request(inst: string): Promise<{ ok: boolean; forecast: { model: { version: string } }; batchSize: number }> {
  const reply = await nats.bus.nc.request(FORECAST_REQUEST_SUBJECT, JSON.stringify({ inst, tf: '1H' }), { timeout: 20_000 });
  return reply.json();
}

beforeAll(async () => {
  nats = await startTestNats();
  // Intents of this plan live 12 bars, so a replayed burst of six is forecast bar by bar.
  await applyPlan(nats.bus, await testPlan('infer-btc', BTC, '1H', {}, { intentTtl: '12h' }));
  await applyPlan(nats.bus, await testPlan('infer-eth', ETH, '1H'));
  // History the actor must replay at start: 60 bars each.
  await publishCandles(nats.bus, hourlyCandles(BTC, START, 60));
  await publishCandles(nats.bus, hourlyCandles(ETH, START, 60));
  host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log, config: { inferencer: { batchWindowMs: 100 } } });
  await host.loadPlugin(INFERENCER_DIR);
  await host.start();
});
afterAll(async () => {
  await host?.stop();
  await nats?.stop();
});

describe('inferencer actor', () => {
  it('registers the shipped model when the registry is empty and replays history from the stream', async () => {
    const record = await latestModel(nats.bus, 'kronos', BTC, '1H');
    const card = JSON.parse(await readFile(join(SHIPPED_MODEL_DIR, 'card.json'), 'utf8'));
    expect(record.version).toBe(card.version);
    const inst = host.instances()[0];
    expect(inst?.state).toBe('running');
    const series = (inst?.status().detail.series ?? []) as Array<{ series: string; bars: number; model: string }>;
    // Memory holds lookback 48 + horizon 4 + 8 bars of slack: all 60 stored bars.
    expect(series.map((s) => [s.series, s.bars, s.model])).toEqual([
      [`${BTC}.1H`, 60, card.version.slice(0, 12)],
      [`${ETH}.1H`, 60, card.version.slice(0, 12)],
    ]);
  });

  it('publishes a forecast for each closed candle with the candle’s correlation id, and scores it when its horizon closes', async () => {
    const [sent] = await publishCandles(nats.bus, hourlyCandles(BTC, START, 1, 60));
    await eventually(async () => (await lastForecast(BTC))?.data.asOf === START + 60 * HOUR);
    const first = (await lastForecast(BTC))!;
    expect(first.correlationId).toBe(sent?.correlationId);
    expect(first.causationId).toBe(sent?.id);
    const f = first.data;
    expect(f).toMatchObject({ inst: BTC, tf: '1H', horizon: 4, lastClose: hourlyCandles(BTC, START, 1, 60)[0]?.close, tradeable: false });
    expect(f.steps).toEqual([61, 62, 63, 64].map((i) => START + i * HOUR));
    expect(f.quantiles.levels).toEqual([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]);
    expect(f.quantiles.close).toHaveLength(7);
    expect(f.quantiles.close[0]?.[3]).toBeLessThanOrEqual(f.quantiles.close[6]?.[3] as number);
    expect(f.settings).toMatchObject({ paths: 8, lookback: 48, seed: 7, executionProvider: 'cpu' });
    expect(f.skill).toMatchObject({ scored: 0, window: 50, tradeable: false });
    expect(f.skill.reason).toMatch(/0 of 3 forecasts scored/);
    // Five more bars: the first forecast's four steps close and it is scored; later forecasts carry the record.
    await publishCandles(nats.bus, hourlyCandles(BTC, START, 5, 61));
    // A replay (these plans are sim) forecasts each of the five bars, the newest last.
    await eventually(async () => {
      const last = (await lastForecast(BTC))?.data;
      return last?.asOf === START + 65 * HOUR && last.skill.scored >= 1;
    });
    const later = (await lastForecast(BTC))!.data;
    expect(later.asOf).toBe(START + 65 * HOUR);
    expect(Object.keys(later.skill.model).sort()).toEqual(['brier', 'crps', 'hit-rate', 'mae']);
    expect(Object.keys(later.skill.baselines).sort()).toEqual(['persistence', 'random-walk']);
    const kv = await nats.bus.kv(SKILL_BUCKET);
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    expect(keys).toEqual([`${BTC}.1H.kronos.${f.model.version}`]);
  });

  it('answers requests and runs concurrent requests for two series in one batch', async () => {
    // Sent in the same tick, the three arrive well inside the 100 ms batch window.
    const replies = await Promise.all([request(BTC), request(ETH), request(BTC)]);
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(Math.max(...replies.map((r) => r.batchSize))).toBe(2);
    const bad = await nats.bus.nc.request(FORECAST_REQUEST_SUBJECT, JSON.stringify({ inst: 'DOGE-USDT', tf: '1H' }), { timeout: 5000 });
    expect(bad.json<{ ok: boolean; error: { code: string } }>()).toMatchObject({ ok: false, error: { code: 'INFERENCER_UNKNOWN_SERIES' } });
  });

  it('swaps to a new version on model.ready without dropping a request', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const f of await readdir(SHIPPED_MODEL_DIR)) if (f.endsWith('.onnx')) files[f] = await readFile(join(SHIPPED_MODEL_DIR, f));
    const card = { ...JSON.parse(await readFile(join(SHIPPED_MODEL_DIR, 'card.json'), 'utf8')), version: 'v2-retrained' };
    files['card.json'] = new TextEncoder().encode(JSON.stringify(card));
    const now = Date.now();
    const record = await registerModel(
      nats.bus,
      { name: 'kronos', inst: BTC, tf: '1H', version: 'v2-retrained', card, registeredAt: now, expiresAt: now + 86_400_000 },
      files,
    );
    // A request every 50 ms from before the model.ready until replies come from the new version.
    const replies: Array<Promise<Awaited<ReturnType<typeof request>>>> = [];
    let sawNew = false;
    const send = () => {
      const reply = request(BTC);
      reply.then(
        (r) => (sawNew ||= r.forecast.model.version === 'v2-retrained'),
        () => undefined,
      );
      replies.push(reply);
    };
    for (let i = 0; i < 4; i++, await sleep(50)) send();
    await nats.bus.publish(ModelReadyContract, subject('modelReady', { inst: BTC, tf: '1H' }), {
      inst: BTC,
      tf: '1H',
      name: 'kronos',
      version: record.version,
      artifacts: Object.values(record.artifacts),
      createdAt: now,
      expiresAt: record.expiresAt,
    });
    for (const deadline = Date.now() + 20_000; !sawNew && Date.now() < deadline; await sleep(50)) send();
    const settled = await Promise.all(replies);
    expect(settled.every((r) => r.ok)).toBe(true);
    const versions = settled.map((r) => (r.forecast.model.version === 'v2-retrained' ? 'new' : 'old'));
    // Old until the swap, new after it: nothing failed or fell between the two.
    expect(versions[0]).toBe('old');
    expect(versions.at(-1)).toBe('new');
    expect(versions.join(' ')).toMatch(/^(old )+(new ?)+$/);
    // ETH has no instrument-specific version: it keeps the shipped one.
    expect((await request(ETH)).forecast.model.version).toBe(
      JSON.parse(await readFile(join(SHIPPED_MODEL_DIR, 'card.json'), 'utf8')).version,
    );
    await publishCandles(nats.bus, hourlyCandles(BTC, START, 1, 66));
    await eventually(async () => (await lastForecast(BTC))?.data.asOf === START + 66 * HOUR);
    const swapped = (await lastForecast(BTC))!.data;
    expect(swapped.model.version).toBe('v2-retrained');
    expect(swapped.skill.scored).toBe(0); // a new version starts its own record
    expect(host.instances()[0]?.status().detail.swaps).toBe(1);
  });

  it('kokex forecast prints the latest forecast as a table and as JSON', async () => {
    const lines: string[] = [];
    const io: CommandIo = {
      print: (l) => lines.push(l),
      progress: () => undefined,
      signal: new AbortController().signal,
      env: { NATS_URL: nats.url },
    };
    expect(await forecastCommand.run(['infer-btc'], io)).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/^BTC-USDT-SWAP 1H · plan infer-btc · as of the bar opened 2026-01-03 18:00 UTC/);
    expect(text).toMatch(/P\(up\) \d+\.\d%.*P\(volatility expands\) \d+\.\d%/);
    expect(text).toMatch(/tradeable: NO: /);
    expect(text).toMatch(/STEP +BAR \(UTC\) +MEAN +Q5 +Q10 +Q25 +MEDIAN +Q75 +Q90 +Q95 +HIGH Q95 +LOW Q5/);
    lines.length = 0;
    expect(await forecastCommand.run(['infer-btc', '--json'], io)).toBe(0);
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ type: 'forecast', data: { inst: BTC, tf: '1H' } });
    lines.length = 0;
    expect(await forecastCommand.run(['no-such-plan'], io)).toBe(2);
  });

  it('kokex skill prints the record of the serving version, as a report and as JSON', async () => {
    const lines: string[] = [];
    const io: CommandIo = {
      print: (l) => lines.push(l),
      progress: () => undefined,
      signal: new AbortController().signal,
      env: { NATS_URL: nats.url },
    };
    const eth = (await lastForecast(ETH))!.data;
    expect(await skillCommand.run(['infer-eth'], io)).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain(`ETH-USDT-SWAP 1H · plan infer-eth · model ${eth.model.name} ${eth.model.version.slice(0, 12)} · `);
    expect(text).toMatch(/tradeable: NO: /);
    lines.length = 0;
    expect(await skillCommand.run(['infer-eth', '--json'], io)).toBe(0);
    const report = JSON.parse(lines.join('\n'));
    expect(report).toMatchObject({ inst: ETH, tf: '1H', model: eth.model.name, version: eth.model.version, lag: 3 });
    expect(report.scored).toBe(report.summary.scored);
    lines.length = 0;
    expect(await skillCommand.run(['no-such-plan'], io)).toBe(2);
  });

  it('serves a model until it expires in the plan’s market time, not the wall clock’s', async () => {
    // A replayed plan (the test plans are sim) at January 2026: a version that expired months ago on
    // the wall clock is still within its maxAge at the data's time, and serves.
    const files: Record<string, Uint8Array> = {};
    for (const f of await readdir(SHIPPED_MODEL_DIR)) if (f.endsWith('.onnx')) files[f] = await readFile(join(SHIPPED_MODEL_DIR, f));
    const card = { ...JSON.parse(await readFile(join(SHIPPED_MODEL_DIR, 'card.json'), 'utf8')), version: 'v-market-time' };
    files['card.json'] = new TextEncoder().encode(JSON.stringify(card));
    const registeredAt = START + 50 * HOUR;
    const record = await registerModel(
      nats.bus,
      { name: 'kronos', inst: ETH, tf: '1H', version: 'v-market-time', card, registeredAt, expiresAt: START + 100 * HOUR },
      files,
    );
    expect(record.expiresAt).toBeLessThan(Date.now());
    await nats.bus.publish(ModelReadyContract, subject('modelReady', { inst: ETH, tf: '1H' }), {
      inst: ETH,
      tf: '1H',
      name: 'kronos',
      version: record.version,
      artifacts: Object.values(record.artifacts),
      createdAt: registeredAt,
      expiresAt: record.expiresAt,
    });
    const servedBy = () => {
      const series = (host.instances()[0]?.status().detail.series ?? []) as Array<{ series: string; model: string }>;
      return series.find((x) => x.series === `${ETH}.1H`)?.model;
    };
    await eventually(() => servedBy() === 'v-market-tim', 20_000);
    const [sent] = await publishCandles(nats.bus, hourlyCandles(ETH, START, 1, 60));
    await eventually(async () => (await lastForecast(ETH))?.data.asOf === START + 60 * HOUR, 20_000);
    const f = (await lastForecast(ETH))!;
    expect(f.data.model.version).toBe('v-market-time');
    expect(f.causationId).toBe(sent?.id);
    // The forecast speaks for the close of the bar it saw.
    expect(f.eventTime).toBe(START + 61 * HOUR);
  }, 60_000);

  it('forecasts a replay backlog only as far back as an intent lives (the history filled in at start is not decided on)', async () => {
    expect(seriesFromPlan(await testPlan('ttl-default', BTC, '1H')).decisionBars).toBe(2);
    expect(seriesFromPlan(await testPlan('ttl-long', BTC, '1H', {}, { intentTtl: '12h' })).decisionBars).toBe(12);
    expect(seriesFromPlan(await testPlan('ttl-5m', BTC, '5m', {}, { intentTtl: '90s' })).decisionBars).toBe(1);
  });

  it('forecasts every bar of a replay that comes in a burst: what it forecasts does not depend on keeping up', async () => {
    // The test plans replay (sim): a live plan would forecast only the newest of a backlog.
    const burst = hourlyCandles(BTC, START, 6, 66);
    await Promise.all(
      burst.map((c) =>
        nats.bus.publish(CandleContract, subject('candle', c), c, {
          id: candleMessageId(c.venue, c.inst, c.tf, c.ts),
          eventTime: c.ts + HOUR,
        }),
      ),
    );
    const asOfs = async () => {
      const out = new Map<number, number>();
      for (let seq = 1; ; ) {
        const m = await nats.bus.jsm.streams
          .getMessage(Streams.forecasts, { next_by_subj: subject('forecast', { inst: BTC, tf: '1H' }), seq } as never)
          .catch(() => null);
        if (!m) return out;
        const env = ForecastContract.decode(m.data);
        out.set(env.data.asOf, env.eventTime);
        seq = m.seq + 1;
      }
    };
    await eventually(async () => {
      const seen = await asOfs();
      return burst.every((c) => seen.has(c.ts));
    }, 30_000);
    const seen = await asOfs();
    for (const c of burst) expect(seen.get(c.ts)).toBe(c.ts + HOUR);
  }, 60_000);
});
