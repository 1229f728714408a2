import { AdapterPort, type AdapterRegistry, adapterFor, type MarketDataAdapter, type Subscription } from '@kokex/core';
import type { FeedEnv, SeriesFeed } from './series-feed.js';

type LinkEnv = FeedEnv & { adapters: AdapterRegistry; adapterSettings: Record<string, Record<string, unknown>> };

/**
 * The feed's tie to one exchange adapter (venue and mode). The adapter comes from the registry
 * (core's `adapterFor`), never from an import. Each series has its own subscription on it, made
 * by the series' machine, so a series the venue refuses (an unknown instrument) fails alone and is
 * retried alone, and a plan change adds or drops series without touching the others. After every
 * resubscribe each series catches up; the link records when the venue came back and when every
 * series had caught up again.
 */
export class VenueLink {
  readonly venue: string;
  readonly mode: string;
  resubscribes = 0;
  lastResubscribedAt: number | undefined;
  lastCaughtUpAt: number | undefined;
  #members = new Map<string, SeriesFeed>();
  #subscriptions = new Map<string, Subscription>();
  #adapter: Promise<MarketDataAdapter> | undefined;
  #awaiting = new Set<SeriesFeed>();
  #counting = false;
  #stopped = false;

  constructor(
    venue: string,
    mode: string,
    private readonly env: LinkEnv,
  ) {
    this.venue = venue;
    this.mode = mode;
  }

  get members(): ReadonlyMap<string, SeriesFeed> {
    return this.#members;
  }

  /** Starts the series that are new (each subscribes itself), closes those that are gone. */
  async setMembers(members: readonly SeriesFeed[]): Promise<void> {
    const next = new Map(members.map((m) => [m.id, m]));
    for (const id of [...this.#members.keys()]) if (!next.has(id)) await this.#drop(id);
    const fresh = members.filter((m) => !this.#members.has(m.id));
    for (const m of fresh) {
      this.#members.set(m.id, m);
      m.start(() => this.#subscribe(m));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const id of [...this.#members.keys()]) await this.#drop(id);
  }

  status(): Record<string, unknown> {
    const problems = [...this.#members.values()].filter((m) => m.state === 'failed').map((m) => [m.id, m.problem ?? 'refused'] as const);
    const failed = problems.length;
    return {
      venue: this.venue,
      mode: this.mode,
      state: failed === 0 ? 'subscribed' : failed === this.#members.size ? 'failed' : 'partly failed',
      ...(failed > 0 ? { problems: Object.fromEntries(problems) } : {}),
      series: [...this.#members.keys()],
      resubscribes: this.resubscribes,
      lastResubscribedAt: this.lastResubscribedAt,
      lastCaughtUpAt: this.lastCaughtUpAt,
    };
  }

  #adapterNow(): Promise<MarketDataAdapter> {
    this.#adapter ??= adapterFor<MarketDataAdapter>(this.env.adapters, AdapterPort.exchange, { name: this.venue, mode: this.mode }, this.env.adapterSettings);
    // A failed resolve (plugin not loaded yet, bad settings) is not cached: the retry asks again.
    this.#adapter.catch(() => {
      this.#adapter = undefined;
    });
    return this.#adapter;
  }

  /**
   * The series' subscription, as its machine invokes it: throws when the adapter cannot be had or
   * the venue refuses the series (counted, and tried again by the machine after a growing delay),
   * so a plugin loaded or a plan fixed afterwards heals the feed without a restart.
   */
  async #subscribe(member: SeriesFeed): Promise<void> {
    if (this.#stopped || this.#members.get(member.id) !== member) return;
    let subscription: Subscription;
    let adapter: MarketDataAdapter;
    try {
      adapter = await this.#adapterNow();
      subscription = await adapter.subscribeCandles([{ inst: member.series.inst, tf: member.series.tf }], {
        onCandle: (c) => member.onCandle(c),
        onResubscribed: () => this.#onResubscribed(member),
        onError: (err) => this.env.noteError(err, { venue: this.venue }),
      });
    } catch (err) {
      if (!this.#stopped) this.env.noteError(err, { series: member.id, what: 'subscribe' });
      throw err;
    }
    if (this.#stopped || this.#members.get(member.id) !== member) {
      await subscription.close();
      return;
    }
    this.#subscriptions.set(member.id, subscription);
    member.adapter = adapter;
    member.onCaughtUp = (m) => this.#caughtUp(m);
  }

  async #drop(id: string): Promise<void> {
    this.#members.delete(id);
    const subscription = this.#subscriptions.get(id);
    this.#subscriptions.delete(id);
    await subscription?.close().catch((err: unknown) => this.env.noteError(err, { series: id, what: 'unsubscribe' }));
  }

  /**
   * Every subscription hears the same reconnect, in one synchronous round of listeners: the first
   * call of the round counts it, and each series catches up itself. A reconnect while an earlier
   * one is still catching up joins it: `lastCaughtUpAt` is when all of them had caught up.
   */
  #onResubscribed(member: SeriesFeed): void {
    if (this.#stopped) return;
    if (!this.#counting) {
      this.#counting = true;
      queueMicrotask(() => {
        this.#counting = false;
      });
      this.resubscribes++;
      this.lastResubscribedAt = this.env.clock.now();
    }
    this.#awaiting.add(member);
    member.resubscribed();
  }

  #caughtUp(member: SeriesFeed): void {
    if (!this.#awaiting.delete(member) || this.#awaiting.size > 0) return;
    this.lastCaughtUpAt = this.env.clock.now();
  }
}
