import type { Bus } from '../bus/bus.js';
import { subjectFilter } from '../bus/subjects.js';
import { AgentTurnContract } from '../contracts/agent.js';
import type { Contract, Envelope } from '../contracts/envelope.js';
import { ForecastContract } from '../contracts/forecast.js';
import { CandleContract } from '../contracts/market.js';
import { OrderEventContract, OrderVerdictContract } from '../contracts/orders.js';
import { type BacktestFill, backtestFigures } from '../backtest/figures.js';
import { timeframeMs } from '../time/timeframe.js';
import { clipWords, isoMinute } from './format.js';

/**
 * The live view `kokex up` prints: what passes on the bus, counted and summed, decoded with the
 * contracts in core (the summary knows no actor). Verdicts and fills print as they happen; a status
 * line every few seconds; a closing report when the host stops.
 */
interface PositionBook {
  size: number;
  avgPrice: number;
  realized: number;
  fees: number;
}

/** What the summary needs to know of the plans it shows (from the host). */
export interface SummarySeries {
  inst: string;
  tf: string;
  /** Base units per contract (OKX `ctVal`); 1 for spot. Undefined: not known (yet). */
  contractValue?: number;
  /** Equity the figures are measured against (quote currency). */
  capital: number;
}

export interface LiveSummaryOptions {
  /** The plans' series; asked again as they change. */
  series?: () => SummarySeries[];
  /** The venue's contract value of an instrument, when the summary has not been told it. */
  contractValue?: (inst: string) => Promise<number | undefined>;
}

export class LiveSummary {
  readonly candles = new Map<string, number>();
  lastCandle: { inst: string; tf: string; ts: number; close: number } | undefined;
  forecasts = 0;
  lastForecast: { inst: string; pUp: number; tradeable: boolean; scored: number; window: number; reason: string } | undefined;
  decisions = 0;
  lastDecision: string | undefined;
  approved = 0;
  denied = new Map<string, number>();
  fills = 0;
  readonly books = new Map<string, PositionBook>();
  readonly lastClose = new Map<string, number>();
  /** Closes of each series' bars, by `inst tf`, for the closing figures. */
  readonly bars = new Map<string, Map<number, number>>();
  /** Every fill by instrument, in market time. */
  readonly fillsByInst = new Map<string, BacktestFill[]>();
  readonly contractValues = new Map<string, number>();
  /**
   * The span of market time the messages spoke for (their `eventTime`: a candle's close, a
   * verdict's candle, a fill's venue time), and the wall time it took: a replay at 60× shows an
   * hour of market time in a minute.
   */
  readonly span: { firstMarket?: number; lastMarket?: number; firstWall?: number; lastWall?: number } = {};
  #subs: Array<{ unsubscribe(): void }> = [];

  constructor(
    private readonly bus: Bus,
    private readonly print: (line: string) => void,
    private readonly options: LiveSummaryOptions = {},
  ) {}

  /** Contract value of an instrument: the plan's, else the venue's, else 1 (spot; said so on screen). */
  contractValueOf(inst: string): number {
    return this.options.series?.().find((x) => x.inst === inst)?.contractValue ?? this.contractValues.get(inst) ?? 1;
  }

  #learnContractValue(inst: string): void {
    if (this.contractValues.has(inst) || !this.options.contractValue) return;
    this.contractValues.set(inst, this.contractValueOf(inst));
    void this.options
      .contractValue(inst)
      .then((v) => {
        if (v !== undefined && Number.isFinite(v) && v > 0) this.contractValues.set(inst, v);
      })
      .catch(() => undefined);
  }

  start(): void {
    this.#on(subjectFilter('candle'), CandleContract, (c, env) => {
      if (c.confirmed) this.#spans(env);
      const key = `${c.inst} ${c.tf}`;
      this.candles.set(key, (this.candles.get(key) ?? 0) + 1);
      if (!this.lastCandle || c.tf === this.lastCandle.tf || c.ts >= this.lastCandle.ts)
        this.lastCandle = { inst: c.inst, tf: c.tf, ts: c.ts, close: c.close };
      this.lastClose.set(c.inst, c.close);
      if (c.confirmed) {
        const series = this.bars.get(key) ?? new Map<number, number>();
        series.set(c.ts, c.close);
        this.bars.set(key, series);
      }
      this.#learnContractValue(c.inst);
    });
    this.#on(subjectFilter('forecast'), ForecastContract, (f) => {
      this.forecasts++;
      this.lastForecast = {
        inst: f.inst,
        pUp: f.pUp,
        tradeable: f.tradeable,
        scored: f.skill.scored,
        window: f.skill.window,
        reason: f.skill.reason,
      };
    });
    this.#on(subjectFilter('agentTurn'), AgentTurnContract, (t) => {
      if (t.record !== 'ended') return;
      this.decisions++;
      this.lastDecision = clipWords(t.answer ?? t.reason, 100);
      if (t.intents.length) this.print(`decision ${t.plan} ${t.conversation}: ${t.intents.length} intent(s) — ${this.lastDecision}`);
    });
    this.#on(subjectFilter('orderVerdict'), OrderVerdictContract, (v, env) => {
      if (v.decision === 'approve') this.approved++;
      else this.denied.set(v.reason, (this.denied.get(v.reason) ?? 0) + 1);
      this.print(
        `verdict  ${at(env)} ${v.plan} ${v.inst} ${v.clientOrderId}: ${v.decision === 'approve' ? 'APPROVED' : `DENIED ${v.reason}`} (${v.message})`,
      );
    });
    this.#on(subjectFilter('orderEvent'), OrderEventContract, (e, env) => {
      if (!e.fill) {
        this.print(
          `order    ${at(env)} ${e.inst} ${e.clientOrderId ?? e.venueOrderId ?? ''}: ${e.kind}${e.reason ? ` (${e.reason})` : ''}`,
        );
        return;
      }
      this.fills++;
      const ctVal = this.contractValueOf(e.inst);
      const book = this.books.get(e.inst) ?? { size: 0, avgPrice: 0, realized: 0, fees: 0 };
      applyFill(book, e.side === 'buy' ? e.fill.size : -e.fill.size, e.fill.price, e.fill.fee, ctVal);
      this.books.set(e.inst, book);
      const list = this.fillsByInst.get(e.inst) ?? [];
      list.push({ time: e.venueTs, side: e.side, size: e.fill.size, price: e.fill.price, fee: Math.abs(e.fill.fee) });
      this.fillsByInst.set(e.inst, list);
      this.print(
        `fill     ${at(env)} ${e.inst} ${e.side} ${sizeText(e.fill.size, ctVal)} @ ${e.fill.price} (fee ${money(Math.abs(e.fill.fee))}) → position ${sizeText(book.size, ctVal)} @ ${round(book.avgPrice)}, realized ${money(book.realized)}`,
      );
    });
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
  }

  statusLine(): string {
    const candles = [...this.candles].map(([k, n]) => `${k.split(' ')[1]}:${n}`).join(' ') || '0';
    const last = this.lastCandle ? ` last ${this.lastCandle.close} @ ${isoMinute(this.lastCandle.ts)}` : '';
    const f = this.lastForecast;
    const forecast = f ? ` P(up) ${f.pUp.toFixed(2)}, skill ${f.scored}/${f.window} ${f.tradeable ? 'TRADEABLE' : 'not tradeable'}` : '';
    const denied = [...this.denied.values()].reduce((a, b) => a + b, 0);
    const pnl = this.pnl();
    return `candles ${candles}${last} | forecasts ${this.forecasts}${forecast} | decisions ${this.decisions}${this.lastDecision ? ` (last: ${this.lastDecision})` : ''} | verdicts ${this.approved} approved, ${denied} denied | fills ${this.fills} | PnL ${money(pnl.total)} (realized ${money(pnl.realized)}, fees ${money(pnl.fees)})`;
  }

  pnl(): { realized: number; unrealized: number; fees: number; total: number } {
    let realized = 0;
    let unrealized = 0;
    let fees = 0;
    for (const [inst, b] of this.books) {
      realized += b.realized;
      fees += b.fees;
      const mark = this.lastClose.get(inst);
      // A 0.01 BTC contract moving 100 USDT is worth 1 USDT, not 100: PnL uses the contract value.
      if (mark !== undefined && b.size !== 0) unrealized += (mark - b.avgPrice) * b.size * this.contractValueOf(inst);
    }
    return { realized, unrealized, fees, total: realized + unrealized - fees };
  }

  closingReport(): string {
    const lines = ['', '== closing report', this.statusLine()];
    const { firstMarket, lastMarket, firstWall, lastWall } = this.span;
    if (firstMarket !== undefined && lastMarket !== undefined && firstWall !== undefined && lastWall !== undefined) {
      const market = lastMarket - firstMarket;
      const wall = lastWall - firstWall;
      const pace = wall > 0 && market > 0 ? `, ${(market / wall).toFixed(market / wall >= 10 ? 0 : 1)}× real time` : '';
      lines.push(
        `  market time ${isoMinute(firstMarket)} → ${isoMinute(lastMarket)} (${duration(market)}), in ${duration(wall)} of wall time${pace}; verdicts and figures count market time`,
      );
    }
    for (const [reason, n] of this.denied) lines.push(`  denied ${reason}: ${n}`);
    for (const [inst, b] of this.books) {
      const ctVal = this.contractValueOf(inst);
      lines.push(
        `  ${inst}: position ${sizeText(b.size, ctVal)} @ ${round(b.avgPrice)}, realized ${money(b.realized)}, fees ${money(b.fees)}`,
      );
    }
    for (const line of this.figuresReport()) lines.push(line);
    return lines.join('\n');
  }

  /**
   * The replayed span's figures, computed as a backtest report computes them (same function): in
   * market time, from the bars' closes and the fills, so a demo and a backtest of the same candles
   * can be compared figure by figure.
   */
  figuresReport(): string[] {
    const out: string[] = [];
    for (const s of this.options.series?.() ?? []) {
      const closes = this.bars.get(`${s.inst} ${s.tf}`);
      if (!closes || closes.size === 0) continue;
      const bars = [...closes].sort((a, b) => a[0] - b[0]).map(([ts, close]) => ({ ts, close }));
      const f = backtestFigures({
        bars,
        fills: this.fillsByInst.get(s.inst) ?? [],
        capital: s.capital,
        contractValue: this.contractValueOf(s.inst),
        barMs: timeframeMs(s.tf),
      });
      const first = bars[0] as { ts: number };
      const last = bars[bars.length - 1] as { ts: number };
      out.push(
        `  ${s.inst} ${s.tf}, ${bars.length} bars ${isoMinute(first.ts)} → ${isoMinute(last.ts)} (market time), capital ${money(s.capital)}:`,
        `    return ${pct(f.totalReturn)} (buy and hold ${pct(f.buyAndHoldReturn)}), max drawdown ${pct(f.maxDrawdown)}, Sharpe ${f.sharpe.toFixed(2)}, Sortino ${f.sortino.toFixed(2)} (${f.ratioFrequency})`,
        `    trades ${f.trades}, win rate ${pct(f.winRate)}, avg win ${money(f.averageWin)}, avg loss ${money(f.averageLoss)}, fees ${money(f.fees)}, exposure ${pct(f.exposure)}, turnover ${f.turnover.toFixed(2)}`,
      );
    }
    return out;
  }

  /** Market time spanned by closed candles, and the wall time their envelopes were built in. */
  #spans(env: Envelope<unknown>): void {
    const s = this.span;
    if (s.firstMarket === undefined || env.eventTime < s.firstMarket) s.firstMarket = env.eventTime;
    if (s.lastMarket === undefined || env.eventTime > s.lastMarket) s.lastMarket = env.eventTime;
    if (s.firstWall === undefined || env.time < s.firstWall) s.firstWall = env.time;
    if (s.lastWall === undefined || env.time > s.lastWall) s.lastWall = env.time;
  }

  #on<T>(filter: string, contract: Contract<T, unknown>, handle: (data: T, envelope: Envelope<T>) => void): void {
    const sub = this.bus.nc.subscribe(filter, {
      callback: (_err, msg) => {
        try {
          const env = contract.decode(msg.data);
          handle(env.data, env);
        } catch {
          // A message this build cannot read is the consumers' business (they dead-letter it).
        }
      },
    });
    this.#subs.push(sub);
  }
}

/**
 * Average-price position keeping: adding keeps a weighted price, reducing realizes PnL. Sizes are
 * in order units (contracts for swaps); `contractValue` turns a price move into quote currency.
 */
export function applyFill(book: PositionBook, signedSize: number, price: number, fee: number, contractValue = 1): void {
  book.fees += fee < 0 ? -fee : fee;
  if (book.size === 0 || Math.sign(book.size) === Math.sign(signedSize)) {
    // Sizes stay on a fine decimal grid: 0.01 + 0.02 - 0.03 is 0, not 3.5e-18 (a phantom position).
    const size = onGrid(book.size + signedSize);
    // Opening from flat takes the fill's price exactly (the weighted form leaves float noise in it).
    book.avgPrice = book.size === 0 ? price : (book.avgPrice * book.size + price * signedSize) / size;
    book.size = size;
    return;
  }
  const closing = Math.min(Math.abs(signedSize), Math.abs(book.size));
  book.realized += closing * (price - book.avgPrice) * Math.sign(book.size) * contractValue;
  const remaining = onGrid(book.size + signedSize);
  if (Math.sign(remaining) !== Math.sign(book.size) && remaining !== 0) book.avgPrice = price;
  if (remaining === 0) book.avgPrice = 0;
  book.size = remaining;
}

function onGrid(size: number): number {
  return Number(size.toFixed(10));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Money with enough digits for fees of small orders (0.0003 USDT is not 0). */
export function money(x: number): string {
  // Below a billionth of the quote currency is float noise, not money.
  if (Math.abs(x) < 1e-9) return '0';
  const abs = Math.abs(x);
  return abs >= 100 ? x.toFixed(2) : abs >= 1 ? x.toFixed(4) : x.toPrecision(3);
}

/** A size in the venue's unit and, for contracts, in base currency: `3 ct (0.03 base)`. */
export function sizeText(size: number, contractValue: number): string {
  const units = Number(size.toFixed(8));
  return contractValue === 1 ? `${units}` : `${units} ct (${Number((size * contractValue).toFixed(8))} base)`;
}

/** The market time a message speaks for, as the lines show it (`[2016-01-01 00:05:00]`). */
function at(env: Envelope<unknown>): string {
  return `[${isoMinute(env.eventTime)}]`;
}

/** A span of time in the largest unit that keeps it readable: `42 s`, `17 min`, `3.5 h`, `2.0 d`. */
function duration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
