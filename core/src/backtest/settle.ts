import type { Bus } from '../bus/bus.js';
import { actorRequestSubject, subject, subjectFilter } from '../bus/subjects.js';
import { CandleContract } from '../contracts/market.js';
import { OrderEventContract } from '../contracts/orders.js';
import { SIM_CONTROL_KIND, SimControlEndpoints, type SimControlReply, type SimControlState } from '../contracts/sim-control.js';
import { ErrorCode, errorFromWire, KokexError } from '../errors.js';

/**
 * Lockstep: the harness releases the next bar only when the pipeline has settled on the previous
 * one. Settled means, checked twice in a row with no stream growing in between:
 * - the bar released is in MD_CANDLES (or the validator reported it on `kokex.md.quality`);
 * - every durable consumer of every stream has nothing pending and nothing unacknowledged (each
 *   actor publishes what a message causes before it acks it, so the chain is causal);
 * - every order the simulator holds has been reported by the executor in its current state (the
 *   venue's pushes travel over WebSocket, outside the bus, so they are compared explicitly).
 * None of it waits a fixed time: the result does not depend on how fast the machine is.
 */
export interface SeriesRef {
  venue: string;
  inst: string;
  tf: string;
}

const EVENT_OF_STATE: Record<string, string> = {
  live: 'accepted',
  partially_filled: 'partially_filled',
  filled: 'filled',
  canceled: 'canceled',
  mmp_canceled: 'canceled',
};

export class PipelineProbe {
  /** Newest validated bar of the plan's series (open time). */
  lastCandle: number | undefined;
  /** Bars the validator reported as bad instead of publishing. */
  readonly reported = new Set<number>();
  /** Latest event per client order id, as the executor published it. */
  readonly orders = new Map<string, { kind: string; filledSize: number }>();
  #subs: Array<{ unsubscribe(): void }> = [];
  /** Told what the pipeline is still doing while it settles (KOKEX_BACKTEST_TRACE=1). */
  trace: ((line: string) => void) | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly series: SeriesRef,
  ) {}

  start(): void {
    const nc = this.bus.nc;
    this.#subs.push(
      nc.subscribe(subject('candle', this.series), {
        callback: (_e, m) => {
          try {
            const c = CandleContract.decode(m.data).data;
            if (c.confirmed && (this.lastCandle === undefined || c.ts > this.lastCandle)) this.lastCandle = c.ts;
          } catch {
            // not a candle this build reads: the consumers' business
          }
        },
      }),
      nc.subscribe(subject('quality', this.series), {
        callback: (_e, m) => {
          try {
            const body = JSON.parse(new TextDecoder().decode(m.data)) as { data?: { ts?: number; bar?: { ts?: number } } };
            const ts = body.data?.ts ?? body.data?.bar?.ts;
            if (typeof ts === 'number') this.reported.add(ts);
          } catch {
            // unreadable report: ignored
          }
        },
      }),
      nc.subscribe(subjectFilter('orderEvent'), {
        callback: (_e, m) => {
          try {
            const e = OrderEventContract.decode(m.data).data;
            if (!e.clientOrderId) return;
            const known = this.orders.get(e.clientOrderId);
            // Events of one order only move forward in filled size; a late duplicate never rewinds.
            if (
              !known ||
              e.filledSize > known.filledSize ||
              (e.filledSize === known.filledSize && known.kind !== e.kind && e.kind !== 'accepted')
            )
              this.orders.set(e.clientOrderId, { kind: e.kind, filledSize: e.filledSize });
          } catch {
            // ignored
          }
        },
      }),
    );
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
  }

  /** One request to the simulator's lockstep control. */
  async sim(endpoint: SimControlEndpoints, body: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<SimControlState> {
    let reply: SimControlReply;
    try {
      const m = await this.bus.nc.request(actorRequestSubject(SIM_CONTROL_KIND, endpoint), JSON.stringify(body), { timeout: timeoutMs });
      reply = JSON.parse(new TextDecoder().decode(m.data)) as SimControlReply;
    } catch (err) {
      throw new KokexError(
        ErrorCode.BacktestRun,
        `the simulator's lockstep control (${endpoint}) did not answer: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!reply.ok) throw errorFromWire(reply.error);
    return reply;
  }

  /** True when the bar is in MD_CANDLES or was reported bad. */
  barSeen(ts: number): boolean {
    return (this.lastCandle !== undefined && this.lastCandle >= ts) || this.reported.has(ts);
  }

  /** Orders the simulator holds whose current state the executor has not reported yet. */
  unreported(state: SimControlState): string[] {
    const out: string[] = [];
    for (const o of state.orders) {
      const seen = this.orders.get(o.clientOrderId);
      const want = EVENT_OF_STATE[o.state] ?? o.state;
      if (!seen || seen.kind !== want || Math.abs(seen.filledSize - o.filledSize) > 1e-12) out.push(o.clientOrderId);
    }
    return out;
  }

  /** Durable consumers with work left, and every stream's last sequence (to see whether anything moved). */
  async consumers(): Promise<{ busy: string[]; seqs: string }> {
    const busy: string[] = [];
    const seqs: string[] = [];
    const streams = [];
    for await (const s of this.bus.jsm.streams.list()) streams.push(s);
    streams.sort((a, b) => a.config.name.localeCompare(b.config.name));
    await Promise.all(
      streams.map(async (s) => {
        for await (const c of this.bus.jsm.consumers.list(s.config.name)) {
          if (!c.config.durable_name) continue;
          if (c.num_pending > 0 || c.num_ack_pending > 0)
            busy.push(`${s.config.name}/${c.name} (${c.num_pending} pending, ${c.num_ack_pending} unacked)`);
        }
      }),
    );
    for (const s of streams) seqs.push(`${s.config.name}:${s.state.last_seq}`);
    return { busy: busy.sort(), seqs: seqs.join(' ') };
  }

  /**
   * Waits until the pipeline has settled on bar `ts` (undefined: on whatever is in flight), twice
   * in a row. `timeoutMs` is infrastructure (a stuck actor), never part of the result.
   */
  async settle(ts: number | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    let lastWhy: string | undefined;
    let previous: string | undefined;
    let why = '';
    let pause = 0;
    for (;;) {
      if (signal?.aborted) return;
      let quiet = ts === undefined || this.barSeen(ts);
      if (!quiet) why = `bar ${new Date(ts as number).toISOString()} has not reached MD_CANDLES`;
      let seqs: string | undefined;
      if (quiet) {
        const c = await this.consumers();
        seqs = c.seqs;
        if (c.busy.length) {
          quiet = false;
          why = `consumers busy: ${c.busy.join(', ')}`;
        }
      }
      if (quiet) {
        const open = this.unreported(await this.sim(SimControlEndpoints.status));
        if (open.length) {
          quiet = false;
          why = `orders not yet reported by the executor: ${open.join(', ')}`;
        }
      }
      if (this.trace && why !== lastWhy) {
        this.trace(`${(performance.now() - t0).toFixed(0)} ms: ${quiet ? 'quiet' : why}`);
        lastWhy = why;
      }
      if (quiet) why = '';
      if (quiet && seqs !== undefined && seqs === previous) return;
      previous = quiet ? seqs : undefined;
      if (performance.now() > deadline)
        throw new KokexError(ErrorCode.BacktestRun, `the pipeline did not settle within ${Math.round(timeoutMs / 1000)} s: ${why}`, {
          data: { ts },
        });
      // Yield so the actors run; back off a little while something is still moving.
      pause = quiet ? 0 : Math.min(pause + 1, 20);
      await new Promise((r) => (pause === 0 ? setImmediate(r) : setTimeout(r, pause)));
    }
  }
}
