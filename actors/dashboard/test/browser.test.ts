import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ActorHost,
  AgentTokenContract,
  AgentTurnContract,
  applyPlan,
  Buckets,
  CandleContract,
  type Forecast,
  ForecastContract,
  OrderEventContract,
  OrderIntentContract,
  type OrderIntentInput,
  type OrderVerdict,
  OrderVerdictContract,
  parsePlan,
  Streams,
  subject,
} from '@kokex/core';
import { captureLogger, eventually, startTestNats, type TestNats } from '@kokex/core/testing';
import { OkxSimulator } from '@kokex/plugin-okx-sim';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../src/index.js';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core, never a downloaded
 * one), on a real nats-server, beside a real risk guard on the OKX simulator: candles and a
 * forecast published as the feed and the inferencer publish them, agent tokens as the agent streams
 * them, intents as the agent sends them. The page may reach nothing but the dashboard.
 */
const REPO = resolve(import.meta.dirname, '../../..');
const ARTIFACTS = resolve(import.meta.dirname, '../test-artifacts');
const DIRS = ['plugins/okx', 'plugins/llm-offline', 'actors/risk-guard', 'actors/executor', 'actors/agent', 'actors/dashboard'].map((d) =>
  resolve(REPO, d),
);
const SWAP = 'BTC-USDT-SWAP';
const PRICE = 43_000;
const MIN = 60_000;
const TOKEN = 'test-token-0123456789abcdef';
const PLAN = 'dash';
const CHROMIUM = '/usr/bin/chromium';

let nats: TestNats;
let sim: OkxSimulator;
let host: ActorHost;
let browser: Browser;
let page: Page;
let url: string;
const offsite: string[] = [];

const plan = parsePlan(
  `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${PLAN} }
spec:
  venue: { name: okx, mode: sim, sim: { speed: 1 } }
  instrument: ${SWAP}
  timeframe: 1m
  agent: { provider: offline-policy, triggers: [manual_chat] }
  risk:
    maxNotional: 1000
    maxPositionNotional: 3000
    maxDailyLoss: 150
    maxOpenOrders: 4
    orderRate: { perMinute: 20, perHour: 200 }
    priceBand: 0.05
    requireTradeableForecast: false`,
  `${PLAN}.yaml`,
);

/** Bars ending at the current minute, so the guard finds the market data fresh. */
const lastBarTs = Math.floor(Date.now() / MIN) * MIN - MIN;
const BARS = 40;
const closeAt = (i: number) => PRICE + Math.round(80 * Math.sin(i / 4));

function forecastOf(asOf: number, lastClose: number, pUp: number): Forecast {
  const steps = [1, 2, 3, 4, 5, 6].map((k) => asOf + k * MIN);
  const median = steps.map((_, k) => lastClose + 5 * (k + 1));
  const band = (d: number) => median.map((m, k) => m + d * (k + 1));
  return {
    venue: 'okx',
    inst: SWAP,
    tf: '1m',
    asOf,
    lastClose,
    horizon: steps.length,
    steps,
    mean: { close: median, high: band(10), low: band(-10) },
    median: { close: median },
    quantiles: {
      levels: [0.1, 0.25, 0.75, 0.9],
      close: [band(-20), band(-8), band(8), band(20)],
      high: [band(0), band(0), band(0), band(0)],
      low: [band(0), band(0), band(0), band(0)],
    },
    pUp,
    pUpRaw: pUp,
    pVolExpand: 0.4,
    expectedMaxAdverse: { long: 0.01, short: 0.01 },
    model: { name: 'kronos', version: 'test' },
    settings: { paths: 8, lookback: 32, temperature: 1, topK: 0, topP: 0.9, seed: 1, executionProvider: 'cpu' },
    computeMs: 5,
    skill: {
      scored: 120,
      window: 500,
      model: { crps: 0.9 },
      baselines: { persistence: { crps: 1 } },
      coverage80: 0.78,
      coverage90: 0.88,
      tradeable: false,
      reason: 'crps 0.9 does not beat random-walk yet',
    },
    tradeable: false,
  };
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: resolve(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function openView(view: string): Promise<void> {
  await page.click(`button[data-view="${view}"]`);
  await page.waitForSelector(`main[data-view="${view}"]`);
}

async function verdictOf(clientOrderId: string): Promise<OrderVerdict | undefined> {
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams
      .getMessage(Streams.orders, { next_by_subj: 'kokex.order.verdict.>', seq } as never)
      .catch(() => null);
    if (!msg) return undefined;
    const v = OrderVerdictContract.decode(msg.data).data;
    if (v.clientOrderId === clientOrderId) return v;
    seq = msg.seq + 1;
  }
}

async function eventsOf(clientOrderId: string): Promise<string[]> {
  const kinds: string[] = [];
  for (let seq = 1; ; ) {
    const msg = await nats.bus.jsm.streams
      .getMessage(Streams.orders, { next_by_subj: 'kokex.order.event.>', seq } as never)
      .catch(() => null);
    if (!msg) return kinds;
    const e = OrderEventContract.decode(msg.data).data;
    if (e.clientOrderId === clientOrderId) kinds.push(e.kind);
    seq = msg.seq + 1;
  }
}

let intents = 0;
async function sendIntent(): Promise<string> {
  const clientOrderId = `dash${Date.now().toString(36)}${intents++}`;
  const intent: OrderIntentInput = {
    plan: PLAN,
    venue: 'okx',
    inst: SWAP,
    side: 'buy',
    size: 1,
    type: 'market',
    clientOrderId,
    origin: { kind: 'manual', who: 'test', why: 'browser test' },
    basis: { kind: 'manual' },
  };
  await nats.bus.publish(OrderIntentContract, subject('orderIntent', { plan: PLAN, inst: SWAP }), intent, {
    id: `intent:${clientOrderId}`,
  });
  return clientOrderId;
}

async function control() {
  const entry = await (await nats.bus.kv(Buckets.risk)).get(`control.${PLAN}`);
  return entry?.operation === 'PUT' ? entry.json<{ state: string; killSwitch: boolean; by: string }>() : undefined;
}

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  await ensureWebBuilt();
  nats = await startTestNats();
  const start = lastBarTs - 200 * MIN;
  const data = Array.from({ length: 600 }, (_, i) => ({
    ts: start + i * MIN,
    open: PRICE,
    high: PRICE,
    low: PRICE,
    close: PRICE,
    volume: 10,
  }));
  sim = new OkxSimulator({ data, startAt: lastBarTs, idleTimeoutMs: 0 });
  const { port } = await sim.start({ port: 0 });
  await applyPlan(nats.bus, plan);
  const adapters = {
    okx: {
      simPort: port,
      ws: { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 200, requestTimeoutMs: 2000 },
      http: { retryDelayMs: 20, maxRetries: 2, timeoutMs: 3000 },
    },
  };
  host = new ActorHost({
    bus: nats.bus,
    log: captureLogger('error').log,
    kinds: ['risk-guard', 'executor', 'agent', 'dashboard'],
    config: {
      'risk-guard': { adapters, pollMs: 200 },
      agent: { venues: adapters },
      executor: { adapters, reconnectMs: 200, retryBackoffMs: [50, 100] },
      dashboard: { port: 0, token: TOKEN, adapters },
    },
    heartbeatMs: 300,
  });
  for (const dir of DIRS) await host.loadPlugin(dir);
  await host.start();
  await eventually(() =>
    (host.statuses().find((x) => x.kind === 'executor')?.detail.venues as Array<{ state: string }>)?.every((v) => v.state === 'ready'),
  );
  const dashboard = host.statuses().find((s) => s.kind === 'dashboard');
  expect(dashboard?.state).toBe('running');
  url = String(dashboard?.detail.url);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

  // The history the page opens on: closed bars, then a forecast caused by the last one.
  for (let i = 0; i < BARS; i++) {
    const ts = lastBarTs - (BARS - 1 - i) * MIN;
    const c = closeAt(i);
    await nats.bus.publish(
      CandleContract,
      subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }),
      { venue: 'okx', inst: SWAP, tf: '1m', ts, open: c - 10, high: c + 20, low: c - 20, close: c, volume: 5, confirmed: true },
      { id: `candle:${ts}` },
    );
  }
  await nats.bus.publish(
    ForecastContract,
    subject('forecast', { inst: SWAP, tf: '1m' }),
    forecastOf(lastBarTs - 10 * MIN, closeAt(BARS - 11), 0.55),
    { id: 'fc-earlier' },
  );
  await nats.bus.publish(ForecastContract, subject('forecast', { inst: SWAP, tf: '1m' }), forecastOf(lastBarTs, closeAt(BARS - 1), 0.62), {
    id: 'fc-latest',
  });

  // Debian's Chromium (scripts/setup.sh and .ci/run install it); never a browser playwright downloads.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or run scripts/setup.sh)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // No network beyond the dashboard: anything else is recorded and refused.
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
  await sim?.stop();
  await nats?.stop();
});

describe('the dashboard in a browser', () => {
  it('loads, shows the candles live and the latest forecast cone ahead of the last bar', async () => {
    await page.goto(url);
    await page.waitForSelector('#conn.ok');
    const section = page.locator('section[data-series]');
    await expect.poll(() => section.getAttribute('data-bars'), { timeout: 10_000 }).toBe(String(BARS));
    await expect.poll(() => section.getAttribute('data-forecasts'), { timeout: 10_000 }).toBe('2');
    // A new closed bar arrives live, over the WebSocket.
    const ts = lastBarTs + MIN;
    await nats.bus.publish(
      CandleContract,
      subject('candle', { venue: 'okx', inst: SWAP, tf: '1m' }),
      { venue: 'okx', inst: SWAP, tf: '1m', ts, open: PRICE, high: PRICE + 5, low: PRICE - 5, close: PRICE, volume: 1, confirmed: true },
      { id: `candle:${ts}` },
    );
    await expect.poll(() => section.getAttribute('data-bars'), { timeout: 10_000 }).toBe(String(BARS + 1));
    // The cone the chart was given: median and bands start at the last bar the forecast saw and run ahead of it.
    const cone = await page.evaluate(() => {
      const m = (
        globalThis as unknown as {
          kokexModel(): {
            forecasts: Record<string, Array<{ id: string; asOf: number; steps: number[]; bands: number[][]; median: number[] }>>;
          };
        }
      ).kokexModel();
      const list = m.forecasts['BTC-USDT-SWAP 1m'] ?? [];
      return list.map((f) => ({ id: f.id, asOf: f.asOf, first: f.steps[0], bands: f.bands.length, median: f.median.length }));
    });
    expect(cone.map((c) => c.id)).toEqual(['fc-earlier', 'fc-latest']);
    expect(cone[1]).toMatchObject({ asOf: lastBarTs, first: lastBarTs + MIN, bands: 4, median: 6 });
    // On the chart: the latest forecast's four bands and median, and the earlier forecast's median.
    await expect.poll(() => section.getAttribute('data-cone')).toBe('6');
    // Drawn: the price chart has painted canvases, and the skill record says why it is not tradeable.
    expect(await page.locator('[data-testid="price-chart"] canvas').count()).toBeGreaterThan(0);
    await expect
      .poll(() => page.locator('[data-testid="tradeable"]').textContent())
      .toContain('NOT TRADEABLE crps 0.9 does not beat random-walk yet');
    await shot('market');
  });

  it('renders a token stream in order as the agent streams it, with the conversation record', async () => {
    await openView('agent');
    const conversation = 'chat-browser-1';
    const base = { plan: PLAN, conversation, trigger: 'manual_chat' as const, part: 0 };
    await nats.bus.publish(
      AgentTurnContract,
      subject('agentTurn', { plan: PLAN }),
      {
        ...base,
        seq: 0,
        record: 'started',
        provider: 'offline-policy',
        inst: SWAP,
        tf: '1m',
        tools: ['get_forecast'],
        limits: { maxTurns: 4, maxToolCalls: 8, maxTokens: 4000, timeoutMs: 60_000 },
        system: 'sys',
        input: 'what now?',
        cause: { id: 'chat-1' },
      },
      { id: `agent:${conversation}:0:0` },
    );
    await nats.bus.publish(
      AgentTurnContract,
      subject('agentTurn', { plan: PLAN }),
      { ...base, seq: 1, record: 'tool_call', turn: 1, callId: 'c1', tool: 'get_forecast', args: { inst: SWAP } },
      { id: `agent:${conversation}:0:1` },
    );
    const words = ['The ', 'forecast ', 'leans ', 'up ', '(P 0.62) ', 'but ', 'is ', 'not ', 'tradeable.'];
    const tokenSubject = subject('agentToken', { plan: PLAN, conversation });
    for (const [seq, text] of words.entries()) {
      nats.bus.emit(AgentTokenContract, tokenSubject, { plan: PLAN, conversation, seq, kind: 'text', text });
      await new Promise((r) => setTimeout(r, 15));
    }
    const tokens = page.locator(`[data-conversation="${conversation}"] [data-testid="tokens"]`);
    await expect.poll(() => tokens.textContent(), { timeout: 10_000 }).toBe(words.join(''));
    await expect
      .poll(() => page.locator(`[data-conversation="${conversation}"] [data-record="tool_call"]`).textContent())
      .toContain('get_forecast');
    await shot('agent');
  });

  it('refuses the kill switch without the token: nothing changes, the refusal is recorded', async () => {
    // No operator has acted: no record, and the page shows the plan's initial state.
    expect(await control()).toBeUndefined();
    await openView('plans');
    await expect.poll(() => page.locator(`[data-testid="state-${PLAN}"]`).textContent()).toBe('active (initial)');
    await page.fill('#token', '');
    await page.fill('#who', 'tester');
    await page.click(`[data-testid="halt-${PLAN}"]`);
    await page.click('[data-testid="confirm-ok"]');
    await expect.poll(() => page.locator('#toast').textContent()).toContain('DASHBOARD_UNAUTHORIZED');
    expect(await control()).toBeUndefined();
    await expect
      .poll(() => page.locator('[data-testid="audit"]').textContent())
      .toMatch(/dashboard:tester@\S+ risk halt dash dash: refused no valid token/);
    const approved = await sendIntent();
    await eventually(async () => (await verdictOf(approved)) !== undefined, 10_000);
    expect((await verdictOf(approved))?.reason).toBe('OK');
    // The executor places it at the simulator; the next simulated bar fills it.
    await eventually(async () => (await eventsOf(approved)).includes('accepted'), 10_000);
    sim.step();
    await eventually(async () => (await eventsOf(approved)).includes('filled'), 10_000);
  });

  it('with the token and confirmation, the kill switch halts the guard and the next intent is denied KILL_SWITCH', async () => {
    await page.fill('#token', TOKEN);
    await page.click(`[data-testid="halt-${PLAN}"]`);
    // Cancelling the confirmation sends nothing.
    await page.click('[data-testid="confirm-cancel"]');
    await expect.poll(() => page.locator('#toast').textContent()).toContain('cancelled');
    expect(await control()).toBeUndefined();
    await page.click(`[data-testid="halt-${PLAN}"]`);
    await page.click('[data-testid="confirm-ok"]');
    await expect.poll(() => page.locator('#toast').textContent()).toContain('done');
    expect(await control()).toMatchObject({ state: 'halted', killSwitch: true, by: expect.stringMatching(/^dashboard:tester@/) });
    await expect.poll(() => page.locator(`[data-testid="state-${PLAN}"]`).textContent()).toBe('halted · KILL SWITCH');
    // The guard acts on the change within a moment: poll with fresh intents until one is judged after it.
    let verdict: OrderVerdict | undefined;
    await eventually(
      async () => {
        const id = await sendIntent();
        await eventually(async () => (await verdictOf(id)) !== undefined, 10_000);
        verdict = await verdictOf(id);
        return verdict?.reason === 'KILL_SWITCH';
      },
      15_000,
      300,
    );
    expect(verdict).toMatchObject({ decision: 'deny', reason: 'KILL_SWITCH' });
    await shot('plans');
    await openView('orders');
    await expect.poll(() => page.locator('[data-testid="orders-table"]').textContent(), { timeout: 10_000 }).toContain('DENY KILL_SWITCH');
    // The filled order: one row from intent to fill, and the position it left, valued with the 0.01 BTC contract.
    await expect.poll(() => page.locator('[data-testid="orders-table"]').textContent()).toMatch(/APPROVE OK.*accepted → filled 1 @ 43000/);
    const position = page.locator('[data-testid="positions-table"] tbody tr');
    const cells = () => position.first().locator('td').allTextContents();
    // plan, instrument, size (contracts), base, avg, mark, contract value, realized, unrealized, fees (1 × 0.01 × 43000 × 0.1%), PnL, fills
    await expect
      .poll(cells, { timeout: 10_000 })
      .toEqual(['dash', SWAP, '1', '0.01', '43000', '43000', '0.01', '0', '0', '0.430', '-0.430', '1']);
    await shot('orders');
  });

  it('shows validation errors of a changed plan file with line and column', async () => {
    await openView('plans');
    await page.click(`[data-testid="edit-${PLAN}"]`);
    await page.fill(
      '[data-testid="plan-text"]',
      'apiVersion: kokex/v1\nkind: Plan\nmetadata: { name: dash }\nspec:\n  instrument: BTC-USDT-SWAP\n  timeframe: 7m\n',
    );
    await page.click('[data-testid="plan-validate"]');
    const issues = page.locator('[data-testid="plan-issues"]');
    await expect.poll(() => issues.textContent()).toMatch(/line 6, column 14: .*timeframe/);
    await shot('plans-form');
  });

  it('chats with the agent as kokex chat does: the answer streams into the conversation', async () => {
    await openView('agent');
    await page.fill('[data-testid="chat-input"]', 'what is the position?');
    await page.click('[data-testid="chat-send"]');
    await page.click('[data-testid="confirm-ok"]');
    await expect.poll(() => page.locator('#toast').textContent(), { timeout: 20_000 }).toContain('done');
    const conversation = page.locator('[data-conversation^="dash-"]');
    await expect.poll(() => conversation.locator('[data-testid="outcome"]').textContent(), { timeout: 10_000 }).toMatch(/^ended answered/);
    const streamed = await conversation.locator('[data-testid="tokens"]').textContent();
    const answer = await page.evaluate(() => {
      const m = (
        globalThis as unknown as { kokexModel(): { conversations: Array<{ id: string; ended?: { answer: string } }> } }
      ).kokexModel();
      return m.conversations.find((c) => c.id.startsWith('dash-'))?.ended?.answer;
    });
    expect(answer).toBeTruthy();
    expect(streamed?.trim()).toBe(answer?.trim());
    await expect.poll(() => conversation.locator('[data-record="tool_call"]').count()).toBeGreaterThan(0);
    // A second message continues the same conversation (its id and the earlier exchange travel with it).
    await page.fill('[data-testid="chat-input"]', 'and now?');
    await page.click('[data-testid="chat-send"]');
    await page.click('[data-testid="confirm-ok"]');
    const parts = () =>
      page.evaluate(() => {
        const m = (
          globalThis as unknown as {
            kokexModel(): { conversations: Array<{ id: string; records: Array<{ part: number; record: string }> }> };
          }
        ).kokexModel();
        const chats = m.conversations.filter((c) => c.id.startsWith('dash-'));
        return { chats: chats.length, ended: chats[0]?.records.filter((r) => r.record === 'ended').map((r) => r.part) ?? [] };
      });
    await expect.poll(parts, { timeout: 20_000 }).toEqual({ chats: 1, ended: [0, 1] });
    await shot('agent-chat');
  });

  it('lists the actors with state, restarts and heartbeat age, and pauses and resumes one', async () => {
    await openView('actors');
    const table = page.locator('[data-testid="actors-table"]');
    await expect.poll(() => table.textContent(), { timeout: 10_000 }).toContain('risk-guard');
    const row = page.locator('tr[data-actor^="dashboard."]');
    await expect.poll(() => row.textContent()).toMatch(/dashboard.*running.*ago/);
    // The fields the dashboard reports through status(): its URL and where its token came from.
    await expect.poll(() => row.locator('[data-testid="actor-status"] li[data-field="url"]').textContent()).toBe(`url: ${url}`);
    await expect
      .poll(() => row.locator('[data-testid="actor-status"] li[data-field="tokenSource"]').textContent())
      .toBe('tokenSource: config');
    await shot('actors');
    const guard = page.locator('tr[data-actor^="risk-guard."]');
    const guardState = () => host.statuses().find((s) => s.kind === 'risk-guard')?.state;
    await guard.locator('button', { hasText: 'pause' }).click();
    await page.click('[data-testid="confirm-ok"]');
    await eventually(() => guardState() === 'paused', 10_000);
    await expect.poll(() => guard.locator('td.state').textContent(), { timeout: 10_000 }).toBe('paused');
    await guard.locator('button', { hasText: 'resume' }).click();
    await page.click('[data-testid="confirm-ok"]');
    await eventually(() => guardState() === 'running', 10_000);
    await expect.poll(() => guard.locator('td.state').textContent(), { timeout: 10_000 }).toBe('running');
    expect(offsite).toEqual([]);
  });
});
