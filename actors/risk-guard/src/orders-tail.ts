import { type Bus, Streams } from '@kokex/core';

type OrderedConsumer = Awaited<ReturnType<Bus['js']['consumers']['get']>>;

/** Messages asked for per pull while reading. */
export const TAIL_BATCH = 1000;

/** The whole of ORDERS: with this filter every stream sequence is delivered, so a jump is a loss. */
const ALL_ORDERS = 'kokex.order.>';

/**
 * Reads the ORDERS stream in sequence order and hands each stored message to `onMessage`. It is
 * how the guard rebuilds its book after a restart and how it keeps up: a plain subscription rings
 * the bell, a timer covers a missed ring, and every decision first reads to the end, so the book
 * holds everything stored before the intent was delivered, other replicas' verdicts included.
 * Its own messages are marked by sequence and skipped (read, not applied).
 *
 * Reading is batched: an ordered consumer (ephemeral, no acks, recreated by the client after a
 * gap) from the next sequence, pulled `TAIL_BATCH` messages at a time, up to the stream's last
 * sequence as it was when the read began. It replaced one `$JS.API.STREAM.MSG.GET` request per
 * message (`scripts/bench/rebuild.ts` compares the two).
 *
 * A start from a books snapshot calls `resumeAfter(seq)` first, so only what follows the snapshot
 * is read. A sequence the stream no longer holds (removed by its limits before anyone read it) is
 * not delivered; reading the whole stream, the tail reports each such run to `onGap` and counts it
 * in `lost`: history the books never saw, which only the venue's reconciliation can make up for.
 */
export class OrdersTail {
  #next = 1;
  readonly #own = new Set<number>();
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** Messages read (not counting skipped own ones). */
  read = 0;
  /** Requests sent to the server, for the benchmark's figure. */
  requests = 0;
  /** Sequences removed from the stream before the tail reached them (whole-stream reads only). */
  lost = 0;

  constructor(
    private readonly bus: Bus,
    private readonly onMessage: (subject: string, data: Uint8Array, seq: number) => void,
    private readonly filter = ALL_ORDERS,
    private readonly onGap?: (from: number, to: number) => void,
  ) {}

  /** The last stream sequence handled. */
  get position(): number {
    return this.#next - 1;
  }

  /** Starts the next read after `seq` (a snapshot covers everything up to it). Only before the first read. */
  resumeAfter(seq: number): void {
    if (this.#running || this.#queued) throw new Error('OrdersTail.resumeAfter: a read is under way');
    this.#next = seq + 1;
    void this.#close();
  }

  #gap(from: number, to: number): void {
    if (this.filter !== ALL_ORDERS || to < from) return;
    this.lost += to - from + 1;
    this.onGap?.(from, to);
  }

  /** A message this process published and applied itself: skipped when the tail reaches it. */
  markOwn(seq: number): void {
    if (seq >= this.#next) this.#own.add(seq);
  }

  /**
   * Resolves once everything stored when it was called has been handled. Calls while a read runs
   * share one follow-up read instead of starting one each.
   */
  catchUp(): Promise<void> {
    if (this.#queued) return this.#queued;
    // A failed read is its caller's error; the next read starts clean.
    const after = (this.#running ?? Promise.resolve()).catch(() => undefined);
    const next = after.then(() => {
      this.#queued = undefined;
      this.#running = this.#read().finally(() => {
        if (this.#running === run) this.#running = undefined;
      });
      const run = this.#running;
      return run;
    });
    this.#queued = next;
    return next;
  }

  #consumer: OrderedConsumer | undefined;

  async #read(): Promise<void> {
    this.requests++;
    const { first_seq: first, last_seq: last } = (await this.bus.jsm.streams.info(Streams.orders)).state;
    // Removed before it was read (the stream's limits): a gap in what the books saw.
    if (first > this.#next && this.#next <= last) {
      this.#gap(this.#next, first - 1);
      this.#next = first;
      await this.#close();
    }
    try {
      while (this.#next <= last) {
        this.#consumer ??= await this.bus.js.consumers.get(Streams.orders, {
          filter_subjects: this.filter,
          opt_start_seq: this.#next,
        } as never);
        this.requests++;
        // Exactly what is stored up to `last`, so the pull ends as soon as it arrived (a pull for
        // more would wait its whole expiry at the end of the stream).
        const batch = await this.#consumer.fetch({ max_messages: Math.min(TAIL_BATCH, last - this.#next + 1), expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          if (m.seq < this.#next) continue;
          if (m.seq > this.#next) this.#gap(this.#next, m.seq - 1);
          this.#next = m.seq + 1;
          if (this.#own.delete(m.seq)) continue;
          this.read++;
          this.onMessage(m.subject, m.data, m.seq);
        }
        // Nothing more to deliver below `last` (the rest was removed): done.
        if (got === 0) break;
      }
    } catch (err) {
      // A consumer the server dropped (inactive, restarted): the next read starts a fresh one.
      await this.#close();
      throw err;
    }
    for (const seq of this.#own) if (seq < this.#next) this.#own.delete(seq);
  }

  async #close(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    await c?.delete().catch(() => undefined);
  }

  /** Deletes the reading consumer (the server would drop it after a while anyway). */
  async close(): Promise<void> {
    await this.#running?.catch(() => undefined);
    await this.#close();
  }
}
