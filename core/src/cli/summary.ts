import type { Bus } from '../bus/bus.js';
import { AgentTurnContract } from '../contracts/agent.js';
import type { Contract } from '../contracts/envelope.js';
import { ForecastContract } from '../contracts/forecast.js';
import { CandleContract } from '../contracts/market.js';
import { OrderEventContract, OrderVerdictContract } from '../contracts/orders.js';
import { isoMinute } from './format.js';

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
  #subs: Array<{ unsubscribe(): void }> = [];

  constructor(
    private readonly bus: Bus,
    private readonly print: (line: string) => void,
  ) {}

  start(): void {
    this.#on('kokex.md.candle.>', CandleContract, (c) => {
      const key = `${c.inst} ${c.tf}`;
      this.candles.set(key, (this.candles.get(key) ?? 0) + 1);
      if (!this.lastCandle || c.tf === this.lastCandle.tf || c.ts >= this.lastCandle.ts)
        this.lastCandle = { inst: c.inst, tf: c.tf, ts: c.ts, close: c.close };
      this.lastClose.set(c.inst, c.close);
    });
    this.#on('kokex.forecast.>', ForecastContract, (f) => {
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
    this.#on('kokex.agent.turn.>', AgentTurnContract, (t) => {
      if (t.record !== 'ended') return;
      this.decisions++;
      this.lastDecision = (t.answer ?? t.reason).replace(/\s+/g, ' ').slice(0, 80);
      if (t.intents.length) this.print(`decision ${t.plan} ${t.conversation}: ${t.intents.length} intent(s) — ${this.lastDecision}`);
    });
    this.#on('kokex.order.verdict.>', OrderVerdictContract, (v) => {
      if (v.decision === 'approve') this.approved++;
      else this.denied.set(v.reason, (this.denied.get(v.reason) ?? 0) + 1);
      this.print(
        `verdict  ${v.plan} ${v.inst} ${v.clientOrderId}: ${v.decision === 'approve' ? 'APPROVED' : `DENIED ${v.reason}`} (${v.message})`,
      );
    });
    this.#on('kokex.order.event.>', OrderEventContract, (e) => {
      if (!e.fill) {
        this.print(`order    ${e.inst} ${e.clientOrderId ?? e.venueOrderId ?? ''}: ${e.kind}${e.reason ? ` (${e.reason})` : ''}`);
        return;
      }
      this.fills++;
      const book = this.books.get(e.inst) ?? { size: 0, avgPrice: 0, realized: 0, fees: 0 };
      applyFill(book, e.side === 'buy' ? e.fill.size : -e.fill.size, e.fill.price, e.fill.fee);
      this.books.set(e.inst, book);
      this.print(
        `fill     ${e.inst} ${e.side} ${e.fill.size} @ ${e.fill.price} → position ${round(book.size)} @ ${round(book.avgPrice)}, realized ${round(book.realized)}`,
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
    return `candles ${candles}${last} | forecasts ${this.forecasts}${forecast} | decisions ${this.decisions}${this.lastDecision ? ` (last: ${this.lastDecision})` : ''} | verdicts ${this.approved} approved, ${denied} denied | fills ${this.fills} | PnL ${round(pnl.total)} (realized ${round(pnl.realized)}, fees ${round(pnl.fees)})`;
  }

  pnl(): { realized: number; unrealized: number; fees: number; total: number } {
    let realized = 0;
    let unrealized = 0;
    let fees = 0;
    for (const [inst, b] of this.books) {
      realized += b.realized;
      fees += b.fees;
      const mark = this.lastClose.get(inst);
      if (mark !== undefined && b.size !== 0) unrealized += (mark - b.avgPrice) * b.size;
    }
    return { realized, unrealized, fees, total: realized + unrealized - fees };
  }

  closingReport(): string {
    const lines = ['', '== closing report', this.statusLine()];
    for (const [reason, n] of this.denied) lines.push(`  denied ${reason}: ${n}`);
    for (const [inst, b] of this.books)
      lines.push(`  ${inst}: position ${round(b.size)} @ ${round(b.avgPrice)}, realized ${round(b.realized)}, fees ${round(b.fees)}`);
    return lines.join('\n');
  }

  #on<T>(filter: string, contract: Contract<T, unknown>, handle: (data: T) => void): void {
    const sub = this.bus.nc.subscribe(filter, {
      callback: (_err, msg) => {
        try {
          handle(contract.decode(msg.data).data);
        } catch {
          // A message this build cannot read is the consumers' business (they dead-letter it).
        }
      },
    });
    this.#subs.push(sub);
  }
}

/** Average-price position keeping: adding keeps a weighted price, reducing realizes PnL. */
export function applyFill(book: PositionBook, signedSize: number, price: number, fee: number): void {
  book.fees += fee < 0 ? -fee : fee;
  if (book.size === 0 || Math.sign(book.size) === Math.sign(signedSize)) {
    const size = book.size + signedSize;
    book.avgPrice = (book.avgPrice * book.size + price * signedSize) / size;
    book.size = size;
    return;
  }
  const closing = Math.min(Math.abs(signedSize), Math.abs(book.size));
  book.realized += closing * (price - book.avgPrice) * Math.sign(book.size);
  const remaining = book.size + signedSize;
  if (Math.sign(remaining) !== Math.sign(book.size) && remaining !== 0) book.avgPrice = price;
  if (remaining === 0) book.avgPrice = 0;
  book.size = remaining;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
