/**
 * The figures of a backtest (or of any replayed span, such as the demo's closing report), computed
 * from what happened: the fills and the closes of the plan's bars. Pure functions of their input,
 * so that the same run gives the same report byte for byte, and small enough to check by hand.
 *
 * Money is in the quote currency. A position is kept in the venue's order unit (contracts for
 * swaps), and every PnL and notional multiplies by the contract value: a 0.01 BTC contract moving
 * by 100 USDT makes 1 USDT per contract, not 100.
 */
export interface BacktestFill {
  /** Market time of the fill (ms). */
  time: number;
  side: 'buy' | 'sell';
  /** In the venue's order unit (contracts for swaps, base currency for spot). */
  size: number;
  price: number;
  /** Fee paid, in the quote currency (positive = paid). */
  fee: number;
}

export interface BacktestBar {
  /** Bar open time (ms). */
  ts: number;
  close: number;
}

export interface FiguresInput {
  /** The bars of the replayed span, oldest first; equity is marked at each close. */
  bars: readonly BacktestBar[];
  fills: readonly BacktestFill[];
  /** Starting equity in the quote currency. */
  capital: number;
  /** Base units per contract (OKX `ctVal`); 1 for spot. */
  contractValue: number;
  /** Bar length (ms): sets the frequency of the Sharpe and Sortino ratios. */
  barMs: number;
}

export interface EquityPoint {
  ts: number;
  equity: number;
  /** Fraction below the running peak (0 at a new high). */
  drawdown: number;
  /** Position after the bar, in order units. */
  position: number;
}

export interface RoundTrip {
  /** Time the position opened and the time it was back to flat (or reversed). */
  openedAt: number;
  closedAt: number;
  side: 'long' | 'short';
  /** Realised PnL of the trip net of its fees (quote currency). */
  pnl: number;
  fees: number;
}

export interface BacktestFigures {
  startEquity: number;
  endEquity: number;
  totalReturn: number;
  /** Compounded to a year of 365 days from the span's length. */
  annualizedReturn: number;
  maxDrawdown: number;
  /** Longest time (ms) spent below a previous peak. */
  maxDrawdownDurationMs: number;
  /** Mean over standard deviation of per-bar returns, times sqrt(bars per year). */
  sharpe: number;
  /** As Sharpe, with the downside deviation (returns below 0) in the denominator. */
  sortino: number;
  /** The frequency both ratios were computed at, e.g. `1m bars, annualised (525600 per year)`. */
  ratioFrequency: string;
  trades: number;
  winRate: number;
  averageWin: number;
  averageLoss: number;
  fees: number;
  /** Fraction of bars that ended with a position open. */
  exposure: number;
  /** Traded notional over the mean equity. */
  turnover: number;
  /** Holding the instrument (quote-currency terms) from the first close to the last. */
  buyAndHoldReturn: number;
  equity: EquityPoint[];
  roundTrips: RoundTrip[];
}

const YEAR_MS = 365 * 24 * 3_600_000;

interface Book {
  size: number;
  avgPrice: number;
  cash: number;
  fees: number;
  tripOpenedAt?: number;
  tripPnl: number;
  tripFees: number;
}

/**
 * Sizes on the venue's lot grid, free of float noise: 0.01 + 0.01 + 0.01 − 0.03 is 0, not
 * −3.5e-18 (which would read as a tiny short and a round trip that never happened).
 */
function lots(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Applies one fill to the book; returns the round trip it closed, if it closed one. */
function applyFill(book: Book, fill: BacktestFill, contractValue: number): RoundTrip | undefined {
  const signed = fill.side === 'buy' ? fill.size : -fill.size;
  book.fees += fill.fee;
  book.cash -= fill.fee;
  book.tripFees += fill.fee;
  if (book.size === 0) book.tripOpenedAt = fill.time;
  if (book.size === 0 || Math.sign(book.size) === Math.sign(signed)) {
    const size = lots(book.size + signed);
    book.avgPrice = (book.avgPrice * book.size + fill.price * signed) / size;
    book.size = size;
    return undefined;
  }
  const closing = Math.min(Math.abs(signed), Math.abs(book.size));
  const realized = closing * (fill.price - book.avgPrice) * Math.sign(book.size) * contractValue;
  book.cash += realized;
  book.tripPnl += realized;
  const side = book.size > 0 ? 'long' : 'short';
  const remaining = lots(book.size + signed);
  let trip: RoundTrip | undefined;
  if (remaining === 0 || Math.sign(remaining) !== Math.sign(book.size)) {
    trip = { openedAt: book.tripOpenedAt ?? fill.time, closedAt: fill.time, side, pnl: book.tripPnl - book.tripFees, fees: book.tripFees };
    book.tripPnl = 0;
    book.tripFees = 0;
    book.tripOpenedAt = remaining === 0 ? undefined : fill.time;
    book.avgPrice = remaining === 0 ? 0 : fill.price;
  }
  book.size = remaining;
  return trip;
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Rounds away float noise so that reports compare byte for byte across machines. */
export function stable(x: number, digits = 10): number {
  if (!Number.isFinite(x)) return 0;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function backtestFigures(input: FiguresInput): BacktestFigures {
  const { bars, capital, contractValue, barMs } = input;
  const fills = [...input.fills].sort((a, b) => a.time - b.time);
  const book: Book = { size: 0, avgPrice: 0, cash: capital, fees: 0, tripPnl: 0, tripFees: 0 };
  const equity: EquityPoint[] = [];
  const roundTrips: RoundTrip[] = [];
  let traded = 0;
  let next = 0;
  let peak = capital;
  let underwaterSince: number | undefined;
  let maxDrawdown = 0;
  let maxDrawdownDurationMs = 0;
  let exposedBars = 0;
  for (const bar of bars) {
    const close = bar.ts + barMs;
    // A fill belongs to the bar during which it happened: at or after the open, before the close.
    while (next < fills.length && (fills[next]?.time ?? Number.POSITIVE_INFINITY) < close) {
      const fill = fills[next++] as BacktestFill;
      traded += fill.size * fill.price * contractValue;
      const trip = applyFill(book, fill, contractValue);
      if (trip) roundTrips.push(trip);
    }
    const value = book.cash + (book.size === 0 ? 0 : (bar.close - book.avgPrice) * book.size * contractValue);
    if (value >= peak) {
      peak = value;
      if (underwaterSince !== undefined) maxDrawdownDurationMs = Math.max(maxDrawdownDurationMs, close - underwaterSince);
      underwaterSince = undefined;
    } else {
      underwaterSince ??= close;
    }
    const drawdown = peak > 0 ? (peak - value) / peak : 0;
    maxDrawdown = Math.max(maxDrawdown, drawdown);
    if (book.size !== 0) exposedBars++;
    equity.push({ ts: bar.ts, equity: stable(value), drawdown: stable(drawdown), position: stable(book.size) });
  }
  const lastClose = bars.length ? (bars[bars.length - 1] as BacktestBar).ts + barMs : 0;
  if (underwaterSince !== undefined) maxDrawdownDurationMs = Math.max(maxDrawdownDurationMs, lastClose - underwaterSince);

  const values = [capital, ...equity.map((p) => p.equity)];
  const returns = values.slice(1).map((v, i) => (values[i] === 0 ? 0 : v / (values[i] as number) - 1));
  const perYear = YEAR_MS / barMs;
  const sd = std(returns);
  const downside = Math.sqrt(mean(returns.map((r) => Math.min(r, 0) ** 2)));
  const endEquity = values[values.length - 1] ?? capital;
  const totalReturn = endEquity / capital - 1;
  const spanMs = bars.length * barMs;
  const wins = roundTrips.filter((t) => t.pnl > 0);
  const losses = roundTrips.filter((t) => t.pnl <= 0);
  const firstClose = bars[0]?.close;
  const lastBarClose = bars[bars.length - 1]?.close;
  return {
    startEquity: stable(capital),
    endEquity: stable(endEquity),
    totalReturn: stable(totalReturn),
    annualizedReturn: stable(spanMs > 0 && endEquity > 0 ? (endEquity / capital) ** (YEAR_MS / spanMs) - 1 : 0),
    maxDrawdown: stable(maxDrawdown),
    maxDrawdownDurationMs,
    sharpe: stable(sd > 0 ? (mean(returns) / sd) * Math.sqrt(perYear) : 0),
    sortino: stable(downside > 0 ? (mean(returns) / downside) * Math.sqrt(perYear) : 0),
    ratioFrequency: `per bar of ${barMs / 60_000} min, annualised (${stable(perYear, 2)} bars per year)`,
    trades: roundTrips.length,
    winRate: stable(roundTrips.length ? wins.length / roundTrips.length : 0),
    averageWin: stable(mean(wins.map((t) => t.pnl))),
    averageLoss: stable(mean(losses.map((t) => t.pnl))),
    fees: stable(book.fees),
    exposure: stable(bars.length ? exposedBars / bars.length : 0),
    turnover: stable(mean(values) > 0 ? traded / mean(values) : 0),
    buyAndHoldReturn: stable(firstClose && lastBarClose ? lastBarClose / firstClose - 1 : 0),
    equity,
    roundTrips: roundTrips.map((t) => ({ ...t, pnl: stable(t.pnl), fees: stable(t.fees) })),
  };
}
