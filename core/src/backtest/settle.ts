import { AckPolicy } from '@nats-io/jetstream';
import type { Bus } from '../bus/bus.js';
import { actorRequestSubject, subject, subjectFilter, subjectPrefix } from '../bus/subjects.js';
import { CandleContract } from '../contracts/market.js';
import { ModelProgressContract } from '../contracts/model.js';
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

/** The harness's own requests to the simulator: not something the pipeline did. */
const CONTROL_PREFIX = `${subjectPrefix('actorRequest', { kind: SIM_CONTROL_KIND })}.`;

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
  /** Training jobs (`--retrain`) by id, with their latest stage: a job not done or failed holds the bar. */
  readonly jobs = new Map<string, string>();
  /** Latest event per client order id, as the executor published it. */
  readonly orders = new Map<string, { kind: string; filledSize: number }>();
  #subs: Array<{ unsubscribe(): void }> = [];
  /** Streams that hold a durable consumer: the only ones a check asks about. */
  #streams: Set<string> | undefined;
  #checks = 0;
  #relist = false;
  /**
   * Per durable with explicit acks (`stream/name`): the messages the probe saw stored for it and
   * the acks it saw, synced to the server's figures at every check. Only a hint of whether a check
   * can find the pipeline quiet, never a reason to release a bar.
   */
  readonly #ledger = new Map<string, { stream: string; filter: string[] | undefined; expected: number; acked: number }>();
  /** Each stream's subjects (split into tokens), from the last listing. */
  #streamSubjects = new Map<string, string[][]>();
  /** Progress the pipeline made that may end a wait (an ack, a candle, an order event, a job stage). */
  #progress = 0;
  #wake: (() => void) | undefined;
  /** Settle checks made and requests the harness sent (lockstep and checks): for the trace and the bench. */
  readonly counts = { checks: 0, requests: 0, skipped: 0, timers: 0 };
  /** Messages anyone published on a KOKEX subject or a KV/object store (what "nothing moved" counts). */
  published = 0;
  /** Told what the pipeline is still doing while it settles (KOKEX_BACKTEST_TRACE=1). */
  trace: ((line: string) => void) | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly series: SeriesRef,
  ) {}

  start(): void {
    const nc = this.bus.nc;
    const count = (_e: unknown, m: { subject: string }) => {
      if (m.subject.startsWith(CONTROL_PREFIX)) return;
      this.published++;
      this.#stored(m.subject);
    };
    this.#subs.push(
      // Every publish that changes state: KOKEX subjects, KV puts, object store chunks (not the
      // JetStream API requests, replies and advisories: subscribing to those would make the server
      // send the probe a copy of every check it makes).
      nc.subscribe('kokex.>', { callback: count }),
      nc.subscribe('$KV.>', { callback: count }),
      nc.subscribe('$O.>', { callback: count }),
      // A consumer acknowledging (or nacking) a message: the moment its work may be done.
      nc.subscribe('$JS.ACK.>', {
        callback: (_e, m) => {
          this.#acked(m.subject, m.data);
          this.#progressed();
        },
      }),
      // A consumer created after the last listing: the next check lists every stream again (the
      // server's names in the advisory's subject may not be the run's, behind a namespace relay).
      nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.CREATED.>', {
        callback: () => {
          this.#relist = true;
          this.#progressed();
        },
      }),
      nc.subscribe(subject('candle', this.series), {
        callback: (_e, m) => {
          try {
            const c = CandleContract.decode(m.data).data;
            if (c.confirmed && (this.lastCandle === undefined || c.ts > this.lastCandle)) this.lastCandle = c.ts;
            this.#progressed();
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
            this.#progressed();
          } catch {
            // unreadable report: ignored
          }
        },
      }),
      nc.subscribe(subjectFilter('modelProgress'), {
        callback: (_e, m) => {
          try {
            const p = ModelProgressContract.decode(m.data).data;
            this.jobs.set(p.jobId, p.stage);
            this.#progressed();
          } catch {
            // ignored
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
            this.#progressed();
          } catch {
            // ignored
          }
        },
      }),
    );
  }

  /** A message on `subject`: one more expected of every durable whose stream stores it and whose filter takes it. */
  #stored(subject: string): void {
    if (!this.#ledger.size) return;
    const tokens = subject.split('.');
    for (const [stream, patterns] of this.#streamSubjects) {
      if (!patterns.some((p) => matches(p, tokens))) continue;
      for (const d of this.#ledger.values()) if (d.stream === stream && (!d.filter || matches(d.filter, tokens))) d.expected++;
    }
  }

  /** `$JS.ACK.{stream}.{consumer}.…` (or with domain and account hash first): an ack or a term ends a delivery. */
  #acked(subject: string, data: Uint8Array): void {
    const t = subject.split('.');
    const at = t.length === 9 ? 2 : 4;
    const d = this.#ledger.get(`${t[at]}/${t[at + 1]}`);
    if (!d) return;
    const kind = data.length ? new TextDecoder().decode(data.subarray(0, 5)) : '+ACK';
    if (kind.startsWith('+ACK') || kind.startsWith('+TERM') || kind.startsWith('+NXT')) d.acked++;
  }

  /** Durables the probe has seen work stored for and not acked since the last check. */
  #expecting(): string[] {
    const out: string[] = [];
    for (const [name, d] of this.#ledger) if (d.expected > d.acked) out.push(name);
    return out;
  }

  #progressed(): void {
    this.#progress++;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Until the pipeline makes progress (true), or `ms` pass (false): a missed signal costs that
   * much, never the result.
   */
  #nextProgress(since: number, ms: number): Promise<boolean> {
    if (this.#progress !== since) return new Promise((r) => setImmediate(() => r(true)));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        // Let the burst the signal belongs to finish (an actor acks, then publishes its status).
        setImmediate(() => resolve(true));
      };
    });
  }

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
  }

  /** One request to the simulator's lockstep control. */
  async sim(endpoint: SimControlEndpoints, body: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<SimControlState> {
    let reply: SimControlReply;
    this.counts.requests++;
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

  /**
   * Durable consumers with work left: the consumer list of every stream that holds a durable, in
   * parallel (one round trip). Which streams those are is found by asking every stream at the
   * first check, after any consumer was created (the server's advisory) and every 200 checks. The
   * set only grows: a stream asked about without need costs one request.
   */
  async consumers(): Promise<string[]> {
    if (!this.#streams || this.#relist || ++this.#checks % 200 === 0) {
      this.#relist = false;
      const names: string[] = [];
      const subjects = new Map<string, string[][]>();
      this.counts.requests++;
      for await (const s of this.bus.jsm.streams.list()) {
        names.push(s.config.name);
        subjects.set(
          s.config.name,
          (s.config.subjects ?? []).map((x) => x.split('.')),
        );
      }
      this.#streamSubjects = subjects;
      this.#streams ??= new Set();
      return this.#busy(names);
    }
    return this.#busy([...this.#streams]);
  }

  async #busy(streams: string[]): Promise<string[]> {
    const busy: string[] = [];
    this.counts.requests += streams.length;
    await Promise.all(
      streams.map(async (stream) => {
        for await (const c of this.bus.jsm.consumers.list(stream)) {
          if (!c.config.durable_name) continue;
          this.#streams?.add(stream);
          if (c.config.ack_policy === AckPolicy.Explicit) {
            const key = `${stream}/${c.name}`;
            const filter = c.config.filter_subject ? c.config.filter_subject.split('.') : undefined;
            const d = this.#ledger.get(key) ?? { stream, filter, expected: 0, acked: 0 };
            // The server's figures as of this answer (what arrived meanwhile is the next check's).
            d.expected = d.acked + c.num_pending + c.num_ack_pending;
            this.#ledger.set(key, d);
          }
          if (c.num_pending > 0 || c.num_ack_pending > 0)
            busy.push(`${stream}/${c.name} (${c.num_pending} pending, ${c.num_ack_pending} unacked)`);
        }
      }),
    );
    return busy.sort();
  }

  /**
   * Waits until the pipeline has settled on bar `ts` (undefined: on whatever is in flight): two
   * quiet checks in a row with nothing published by anyone from the start of the first to the end
   * of the second. `timeoutMs` is infrastructure (a stuck actor), never part of the result.
   */
  async settle(ts: number | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    const start = { ...this.counts, published: this.published };
    let lastWhy: string | undefined;
    let quietSince: number | undefined;
    let why = '';
    let pause = 0;
    let timedOut = false;
    for (;;) {
      if (signal?.aborted) return;
      const mark = this.published;
      const progress = this.#progress;
      let quiet = ts === undefined || this.barSeen(ts);
      if (!quiet) why = `bar ${new Date(ts as number).toISOString()} has not reached MD_CANDLES`;
      // Work the probe saw stored and not yet acked: a check now would find it busy. Skipped until
      // the next ack, or a timer that checks anyway (the hint missed something).
      const expecting: string[] = quiet && !timedOut ? this.#expecting() : [];
      if (expecting.length) {
        quiet = false;
        why = `consumers busy (seen): ${expecting.join(', ')}`;
        this.counts.skipped++;
      } else if (quiet) {
        this.counts.checks++;
        const [busy, state] = await Promise.all([this.consumers(), this.sim(SimControlEndpoints.status)]);
        const open = this.unreported(state);
        for (const [job, stage] of this.jobs) if (stage !== 'done' && stage !== 'failed') busy.push(`training job ${job} (${stage})`);
        if (busy.length) why = `consumers busy: ${busy.join(', ')}`;
        else if (open.length) why = `orders not yet reported by the executor: ${open.join(', ')}`;
        quiet = busy.length === 0 && open.length === 0;
      }
      if (this.trace && why !== lastWhy) {
        this.trace(`${(performance.now() - t0).toFixed(0)} ms: ${quiet ? 'quiet' : why}`);
        lastWhy = why;
      }
      if (quiet) why = '';
      if (quiet && quietSince !== undefined && this.published === quietSince) {
        this.trace?.(
          `settled in ${(performance.now() - t0).toFixed(0)} ms: ${this.counts.checks - start.checks} checks (${this.counts.skipped - start.skipped} skipped, ${this.counts.timers - start.timers} by timer), ${this.counts.requests - start.requests} harness requests, ${this.published - start.published} messages published`,
        );
        return;
      }
      quietSince = quiet && this.published === mark ? mark : undefined;
      if (performance.now() > deadline)
        throw new KokexError(ErrorCode.BacktestRun, `the pipeline did not settle within ${Math.round(timeoutMs / 1000)} s: ${why}`, {
          data: { ts },
        });
      if (quiet) {
        // The second check, at once (after whatever the first one let run).
        pause = 0;
        await new Promise((r) => setImmediate(r));
        continue;
      }
      // Busy: wait for the pipeline's next progress (an ack, the bar's candle, an order event, a
      // job stage), else a timer that backs off (a signal seen before the server's state shows
      // it); how long either takes never changes what is checked.
      // While the probe itself expects acks, the timer is only a safety net and waits longer.
      const [first, most]: [number, number] = expecting.length ? [50, 200] : [5, 50];
      pause = this.#progress !== progress ? 0 : Math.min(Math.max(first, pause * 2), most);
      timedOut = !(await this.#nextProgress(progress, pause || first));
      if (timedOut) this.counts.timers++;
    }
  }
}

/** NATS subject matching on tokens: `*` takes one token, a trailing `>` one or more. */
function matches(pattern: string[], tokens: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '>') return tokens.length > i;
    if (i >= tokens.length || (p !== '*' && p !== tokens[i])) return false;
  }
  return pattern.length === tokens.length;
}
