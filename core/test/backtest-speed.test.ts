import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport } from '../src/backtest/report.js';
import { type BacktestRun, runBacktest } from '../src/backtest/run.js';
import { createLogger } from '../src/log/logger.js';
import { discoverPlugins } from '../src/plugin/loader.js';
import { RUN_T0, tinyPlan, walkBars, writeData } from './fixtures/backtest-data.js';

/**
 * Speed independence (issue 11): the same window replayed in lockstep (`kokex backtest`: the next
 * bar only once the pipeline has settled) and at 60× live pace (a 1m bar every second of wall
 * time, released whether or not the actors have caught up, as a venue's bars come) gives the same
 * forecasts, decisions and verdicts.
 *
 * It ran at 20× until 2026-12-03: at 60× on a machine at load 15 to 25 the pipeline was behind at
 * most releases, and a sell closing a long was denied REDUCE_ONLY_WOULD_INCREASE where lockstep
 * approved it, because the guard judged it before the long's fill report had landed. The guard
 * now waits for its plan's market orders in flight to be reported before it judges a reduce-only
 * intent (`reduceOnlyWaitMs`), so order latency no longer changes a verdict; at 60× it passed
 * 6 of 6 runs at load 1.8 to 5.5 (behind at 0 to 3 of 10 releases), two of them beside the
 * executor's and the guard's suites.
 *
 * What it holds on: every decision reads market time (the guard's rates, cooldowns, the day),
 * the inferencer forecasts every bar of a backlog that a decision on it could still act on, the
 * agent decides on every forecast of a replay, and what it reads (get_forecast, get_market) is as
 * of the conversation's market time, never a newer bar that a busy pipeline has already stored.
 * Both runs start the same way (history loaded, then the trading side up), so what differs is the
 * pace alone; how many bars the paced run was behind is printed (nothing asserts on it: it is a
 * property of the machine's load, not of the code).
 */
const REPO = resolve(__dirname, '../..');
const HISTORY = 60;
const REPLAY = 10;
/** 60× live pace: a 1m bar every second of wall time. */
const PACE_MS = 1000;
let root: string | undefined;

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/**
 * The tiny plan, with its limits where market data alone decides. The two rules that measure how
 * late the pipeline is (an intent older than `intentTtl` behind the guard's clock, a forecast more
 * than `maxDataAgeBars` behind the newest candle) are set beyond the window: an intent lives an
 * hour and a forecast may be 60 bars behind, so no bar is ever too far behind to forecast, decide
 * and judge on its market data (live, those rules deny what comes too late, as they should). The
 * position and open-order limits are out of reach. The offline policy goes short as well as long, so what it
 * does follows P(up) only; a rule on the position (close a long first, stop at a size) reads fills
 * as soon as the venue has reported them, which at 60× on a busy machine can be a bar later than in
 * lockstep: order latency, the one thing a live run legitimately adds. So a decision is compared
 * by what it did (its intents), not by its wording, which says whether a sell closes a long.
 */
const plan = tinyPlan('bt')
  .replace('priceBand: 0.01', 'priceBand: 0.01\n    intentTtl: 1h\n    maxDataAgeBars: 60')
  .replace('maxOpenOrders: 2', 'maxOpenOrders: 100')
  .replace('maxPositionNotional: 3000', 'maxPositionNotional: 1000000')
  // An hourly rate the window's intents exceed: denied RATE_PER_HOUR by the intents' market minutes.
  .replace('perHour: 30', 'perHour: 4');
const POLICY = { agent: { providers: { 'offline-policy': { allowShort: true, maxPosition: 1000 } } } };

async function run(dir: string, dataDir: string, from: number, to: number, releaseEveryMs?: number): Promise<BacktestRun> {
  const planFile = join(dir, 'plan.yaml');
  await mkdir(dir, { recursive: true });
  await writeFile(planFile, plan);
  return runBacktest({
    planFile,
    dataDir,
    from,
    to,
    log: createLogger({ level: 'error' }),
    pluginDirs: await discoverPlugins([join(REPO, 'actors'), join(REPO, 'plugins')]),
    codeVersion: 'test',
    actorConfig: POLICY,
    ...(releaseEveryMs !== undefined ? { releaseEveryMs } : {}),
  });
}

describe('kokex backtest does not depend on speed', () => {
  it('lockstep and 60x live pace give the same forecasts, decisions and verdicts', { timeout: 300_000 }, async () => {
    root = await mkdtemp(join(tmpdir(), 'kokex-bt-speed-'));
    const dataDir = join(root, 'data');
    await writeData(
      dataDir,
      'okx_BTC-USDT-SWAP_1m_2026-01.csv',
      walkBars({ start: RUN_T0, count: HISTORY + REPLAY, price: 43_000, seed: 31 }),
    );
    const from = RUN_T0 + HISTORY * 60_000;
    const to = from + REPLAY * 60_000;
    // One after the other: two runs side by side in one process overran the hosts' 30 s start-up
    // limit on the loaded machine (an infrastructure timeout, not a result).
    const lockstep = await run(join(root, 'lockstep'), dataDir, from, to);
    const paced = await run(join(root, 'paced'), dataDir, from, to, PACE_MS);
    const [a, b] = [buildReport(lockstep, lockstep.contractValue), buildReport(paced, paced.contractValue)];
    process.stdout.write(
      `speed test: paced run behind at ${paced.barsBehind}/${paced.replayed} releases, ${paced.wallSeconds.toFixed(1)} s; lockstep ${lockstep.wallSeconds.toFixed(1)} s; load ${loadavg()[0]?.toFixed(1)}\n`,
    );
    expect(paced.replayed).toBe(REPLAY);
    expect(lockstep.replayed).toBe(REPLAY);
    const forecasts = (r: typeof a) => r.series.forecasts.map((f) => `${new Date(f[0]).toISOString()} ${f[1]}`);
    const decisions = (r: typeof a) => r.decisionList.map((d) => `${new Date(d.time).toISOString()} ${d.intents.length} intents`);
    const verdicts = (r: typeof a) => r.verdictList.map((v) => `${new Date(v.time).toISOString()} ${v.side} ${v.decision} ${v.reason}`);
    // Every bar forecast and decided on, in both.
    expect(forecasts(a)).toHaveLength(REPLAY);
    expect(decisions(a)).toHaveLength(REPLAY);
    expect(verdicts(a).length).toBeGreaterThan(5);
    expect(verdicts(a).some((v) => v.endsWith('RATE_PER_HOUR'))).toBe(true);
    expect(forecasts(b)).toEqual(forecasts(a));
    expect(decisions(b)).toEqual(decisions(a));
    expect(verdicts(b)).toEqual(verdicts(a));
  });
});
