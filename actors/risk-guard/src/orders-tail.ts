import { type Bus, Streams } from '@kokex/core';

type GetMessageRequest = Parameters<Bus['jsm']['streams']['getMessage']>[1];

/**
 * Reads the ORDERS stream in sequence order, from the start, one stored message at a time
 * (`$JS.API.STREAM.MSG.GET` with `next_by_subj`), and hands each to `onMessage`. It is how the
 * guard rebuilds its book after a restart and how it keeps up: a plain subscription rings the
 * bell, a timer covers a missed ring, and every decision first reads to the end, so the book
 * holds everything stored before the intent was delivered, other replicas' verdicts included.
 * Its own messages are marked by sequence and skipped without a read.
 */
export class OrdersTail {
  #next = 1;
  readonly #own = new Set<number>();
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** Messages read (not counting skipped own ones). */
  read = 0;

  constructor(
    private readonly bus: Bus,
    private readonly onMessage: (subject: string, data: Uint8Array, seq: number) => void,
    private readonly filter = 'kokex.order.>',
  ) {}

  /** The last stream sequence handled. */
  get position(): number {
    return this.#next - 1;
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

  /**
   * `next_by_subj`: the first stored message at or after `seq` matching the filter. nats-server 2.9
   * answers it on STREAM.MSG.GET; the client's request type only lists the direct-get form.
   */
  #nextRequest(): GetMessageRequest {
    return { next_by_subj: this.filter, seq: this.#next } as unknown as GetMessageRequest;
  }

  async #read(): Promise<void> {
    for (;;) {
      while (this.#own.delete(this.#next)) this.#next++;
      const msg = await this.bus.jsm.streams.getMessage(Streams.orders, this.#nextRequest());
      if (!msg) return;
      this.#next = msg.seq + 1;
      if (this.#own.delete(msg.seq)) continue;
      this.read++;
      this.onMessage(msg.subject, msg.data, msg.seq);
    }
  }
}
