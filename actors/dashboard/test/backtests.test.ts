import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ActorHost,
  type BacktestReport,
  type BacktestRun,
  buildReport,
  compareRuns,
  type OrderEvent,
  type OrderVerdict,
  parsePlan,
  reportJson,
} from '@kokex/core';
import { captureLogger, startTestNats, type TestNats } from '@kokex/core/testing';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BacktestsLibrary, backtestsDirOf, ensureWebBuilt } from '../src/index.js';

/**
 * The backtests view in a real browser (Debian's Chromium through playwright-core): reports made
 * by core's report builder from two small runs, written where `kokex backtest --out` writes them,
 * listed, one opened (figures, equity and drawdown charts, trades, verdicts by reason), both
 * compared side by side with core's differences; a broken file is listed with its error.
 */
const REPO = resolve(import.meta.dirname, '../../..');
const ARTIFACTS = resolve(import.meta.dirname, '../test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0);
const TOKEN = 'test-token-backtests-0123';

let nats: TestNats;
let host: ActorHost;
let browser: Browser;
let page: Page;
let url: string;
let dir: string;
const offsite: string[] = [];

/** A tiny run: 60 one-minute bars, buys and sells at given bars, two verdict reasons. */
function run(name: string, trades: Array<{ buy: number; sell: number }>, denied: number, seed: number): BacktestRun {
  const plan = parsePlan(
    `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: sim, paper: { balance: 10000 } }
  instrument: BTC-USDT-SWAP
  timeframe: 1m
  agent: { provider: offline-policy }
  risk: { maxNotional: 5000, maxPositionNotional: 5000, maxDailyLoss: 500, maxOpenOrders: 4, orderRate: { perMinute: 20, perHour: 200 } }`,
    `${name}.yaml`,
  );
  const bars = Array.from({ length: 60 }, (_, i) => {
    const close = 40_000 + 300 * Math.sin(i / 6) + 10 * i;
    return { ts: T0 + i * MIN, open: close - 5, high: close + 20, low: close - 20, close, volume: 3 };
  });
  const events: Array<{ eventTime: number; data: OrderEvent }> = [];
  const verdicts: Array<{ eventTime: number; data: OrderVerdict }> = [];
  let n = 0;
  const fill = (i: number, side: 'buy' | 'sell') => {
    const bar = bars[i] as (typeof bars)[number];
    const clientOrderId = `${name}${n++}`;
    verdicts.push({
      eventTime: bar.ts,
      data: {
        plan: name,
        inst: 'BTC-USDT-SWAP',
        clientOrderId,
        side,
        decision: 'approve',
        reason: 'OK',
        rule: 'all',
        message: 'ok',
        size: 1,
      },
    });
    events.push({
      eventTime: bar.ts,
      data: {
        venue: 'okx',
        inst: 'BTC-USDT-SWAP',
        plan: name,
        clientOrderId,
        kind: 'filled',
        side,
        size: 1,
        filledSize: 1,
        fill: { price: bar.close, size: 1, fee: -bar.close * 0.01 * 0.0005 },
        venueTs: bar.ts,
        receivedAt: bar.ts,
      } as OrderEvent,
    });
  };
  for (const t of trades) {
    fill(t.buy, 'buy');
    fill(t.sell, 'sell');
  }
  for (let i = 0; i < denied; i++)
    verdicts.push({
      eventTime: T0 + i * MIN,
      data: {
        plan: name,
        inst: 'BTC-USDT-SWAP',
        clientOrderId: `${name}d${i}`,
        side: 'buy',
        decision: 'deny',
        reason: 'MAX_NOTIONAL',
        rule: 'maxNotional',
        message: 'too big',
      },
    });
  return {
    plan,
    planFile: `${name}.yaml`,
    planSha256: 'a'.repeat(64),
    data: { bars, files: [{ name: 'btc.csv', sha256: 'b'.repeat(64), rows: 60 }], barMs: MIN, tf: '1m', gaps: [], gapPolicy: 'error' },
    from: T0,
    to: T0 + 60 * MIN,
    total: 60,
    replayed: 60,
    partial: false,
    seed,
    retrain: false,
    codeVersion: 'test',
    historyMs: 0,
    contractValue: 0.01,
    collected: {
      candles: bars.map((b) => ({ venue: 'okx', inst: 'BTC-USDT-SWAP', tf: '1m', confirmed: true, ...b })),
      forecasts: [],
      intents: [],
      verdicts,
      events,
      decisions: { conversations: 0, withIntents: 0 },
      decisionList: [],
    },
    wallSeconds: 0,
  } as BacktestRun;
}

let reportA: BacktestReport;
let reportB: BacktestReport;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  await ensureWebBuilt();
  dir = await mkdtemp(join(tmpdir(), 'kokex-backtests-'));
  // Where `kokex backtest --out backtests/<plan>` writes: one directory per run.
  reportA = buildReport(run('alpha', [{ buy: 2, sell: 12 }], 1, 1), 0.01);
  reportB = buildReport(
    run(
      'beta',
      [
        { buy: 20, sell: 30 },
        { buy: 40, sell: 55 },
      ],
      3,
      2,
    ),
    0.01,
  );
  await mkdir(join(dir, 'alpha'));
  await writeFile(join(dir, 'alpha', 'report.json'), reportJson(reportA));
  await mkdir(join(dir, 'sweep', 'beta'), { recursive: true });
  await writeFile(join(dir, 'sweep', 'beta', 'report.json'), reportJson(reportB));
  await mkdir(join(dir, 'broken'));
  await writeFile(join(dir, 'broken', 'report.json'), '{"schema": "kokex.backtest.report/v1", "plan": ');
  await mkdir(join(dir, 'old'));
  await writeFile(join(dir, 'old', 'report.json'), JSON.stringify({ ...reportA, figures: { ...reportA.figures, sharpe: 'high' } }));

  nats = await startTestNats();
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    kinds: ['dashboard'],
    config: { dashboard: { port: 0, token: TOKEN, backtestsDir: dir } },
    heartbeatMs: 300,
  });
  await host.loadPlugin(resolve(REPO, 'actors/dashboard'));
  await host.start();
  const status = host.statuses().find((s) => s.kind === 'dashboard');
  expect(status?.state).toBe('running');
  expect(status?.detail.backtestsDir).toBe(dir);
  url = String(status?.detail.url);

  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or run scripts/setup.sh)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const origin = new URL(url).origin;
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (target.startsWith(origin) || target.startsWith('data:')) return route.continue();
    offsite.push(target);
    return route.abort();
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the backtests view', () => {
  it('lists the reports under the backtests directory, a broken file with its error, without the token', async () => {
    await page.goto(`${url}#backtests`);
    await page.waitForSelector('main[data-view="backtests"]');
    const table = page.locator('[data-testid="backtests-table"]');
    await expect.poll(() => table.locator('tr[data-ok="true"]').count(), { timeout: 15_000 }).toBe(2);
    const alpha = table.locator('tr[data-run="alpha"]');
    const beta = table.locator('tr[data-run="sweep/beta"]');
    expect(await alpha.textContent()).toContain('BTC-USDT-SWAP 1m');
    expect(await alpha.textContent()).toContain(`${(reportA.figures.totalReturn * 100).toFixed(2)}%`);
    expect(await beta.textContent()).toContain(`${reportB.figures.trades}`);
    expect(await table.locator('tr[data-run="broken"] [data-testid="backtest-bad"]').textContent()).toMatch(/^not JSON/);
    expect(await table.locator('tr[data-run="old"] [data-testid="backtest-bad"]').textContent()).toMatch(
      /not a backtest report: figures\.sharpe: Expected number, received string/,
    );
    expect(await page.locator('[data-testid="backtests-dir"]').textContent()).toBe(`4 run(s) in ${dir}`);
  });

  it('opens one: its figures, equity and drawdown charts, trades and verdicts by reason', async () => {
    await page.click('[data-testid="open-sweep/beta"]');
    const report = page.locator('[data-testid="backtest-report"][data-run="sweep/beta"]');
    await report.waitFor({ timeout: 10_000 });
    const figures = report.locator('[data-testid="backtest-figures"]');
    expect(await figures.textContent()).toContain('maxDrawdown');
    expect(await figures.textContent()).toContain(`${(reportB.figures.maxDrawdown * 100).toFixed(2)}%`);
    expect(await report.locator('[data-testid="backtest-trades"] tbody tr').count()).toBe(reportB.trades.length);
    expect(reportB.trades.length).toBe(2);
    const verdicts = report.locator('[data-testid="backtest-verdicts"] tbody tr');
    expect(await verdicts.allTextContents()).toEqual(['OK4', 'MAX_NOTIONAL3']);
    // lightweight-charts draws on canvases inside each chart.
    await expect.poll(() => report.locator('[data-testid="backtest-equity"] canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => report.locator('[data-testid="backtest-drawdown"] canvas').count()).toBeGreaterThan(0);
    await shot('backtest-report');
  });

  it("compares two runs side by side with core's differences", async () => {
    await page.check('[data-testid="select-alpha"]');
    await page.check('[data-testid="select-sweep/beta"]');
    await page.click('[data-testid="backtests-compare"]');
    const cmp = page.locator('[data-testid="comparison-table"]');
    await cmp.waitFor({ timeout: 10_000 });
    const expected = await compareRuns([join(dir, 'alpha'), join(dir, 'sweep', 'beta')]);
    expect(await cmp.locator('tbody tr').count()).toBe(Object.keys(expected.figures).length);
    const trades = cmp.locator('tr[data-figure="trades"] td');
    expect(await trades.allTextContents()).toEqual(['trades', '1', '2', '+1']);
    const denied = cmp.locator('tr[data-figure="verdicts.MAX_NOTIONAL"] td');
    expect(await denied.allTextContents()).toEqual(['verdicts.MAX_NOTIONAL', '1', '3', '+2']);
    const diff = await cmp.locator('tr[data-figure="totalReturn"] td[data-diff]').getAttribute('data-diff');
    expect(Number(diff)).toBe(expected.differences.totalReturn?.[1]);
    await shot('backtests-compare');
    expect(offsite).toEqual([]);
  });
});

describe('the backtests API', () => {
  const get = async (path: string) => {
    const res = await fetch(new URL(path, url));
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('refuses ids outside the directory, names a missing run and a bad report, and refuses a comparison of one', async () => {
    expect((await get('/api/backtests/report?id=../../etc')).status).toBe(400);
    expect((await get(`/api/backtests/report?id=${encodeURIComponent(resolve('/'))}`)).status).toBe(400);
    const missing = await get('/api/backtests/report?id=nosuch');
    expect(missing.status).toBe(404);
    expect((missing.body.error as { code: string }).code).toBe('DASHBOARD_NOT_FOUND');
    const bad = await get('/api/backtests/report?id=old');
    expect(bad.status).toBe(422);
    expect((bad.body.error as { code: string }).code).toBe('DASHBOARD_BAD_REPORT');
    expect((await get('/api/backtests/compare?id=alpha')).status).toBe(400);
    expect((await get('/api/backtests/compare?id=alpha&id=old')).status).toBe(422);
  });

  it('sees a report written after the page opened, and one rewritten', async () => {
    const library = new BacktestsLibrary(dir);
    const before = (await library.list()).reports.length;
    await mkdir(join(dir, 'later'));
    await writeFile(join(dir, 'later', 'report.json'), reportJson(reportA));
    expect((await library.list()).reports.length).toBe(before + 1);
    await writeFile(join(dir, 'later', 'report.json'), 'garbage');
    const later = (await library.list()).reports.find((r) => r.id === 'later');
    expect(later?.ok).toBe(false);
  });

  it('resolves the directory from the config, else KOKEX_BACKTESTS_DIR, else backtests/ in the working directory', () => {
    expect(backtestsDirOf({ backtestsDir: 'runs' }, { KOKEX_BACKTESTS_DIR: '/x' }, '/w')).toBe('/w/runs');
    expect(backtestsDirOf({}, { KOKEX_BACKTESTS_DIR: '/x' }, '/w')).toBe('/x');
    expect(backtestsDirOf({}, {}, '/w')).toBe('/w/backtests');
  });
});
