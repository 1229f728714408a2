import { AdapterPort, type AdapterRegistry, adapterFor, type MarketDataAdapter, type Subscription } from '@kokex/core';
import type { FeedEnv, SeriesFeed } from './series-feed.js';

type LinkEnv = FeedEnv & { adapters: AdapterRegistry; adapterSettings: Record<string, Record<string, unknown>> };

/**
 * The feed's tie to one exchange adapter (venue and mode). The adapter comes from the registry,
 * never from an import. Each series has its own subscription on it, so a series the venue refuses
 * (an unknown instrument) fails alone and is retried alone, and a plan change adds or drops series
 * without touching the others. After every resubscribe each series catches up; the link records
 * when the venue came back and when every series had caught up again.
 */
export class VenueLink {
  readonly venue: string;
  readonly mode: string;
  resubscribes = 0;
  lastResubscribedAt: number | undefined;
  lastCaughtUpAt: number | undefined;
  #members = new Map<string, SeriesFeed>();
  #subscriptions = new Map<string, Subscription>();
  #problems = new Map<string, string>();
  #retries = new Map<string, unknown>();
  #failures = new Map<string, number>();
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

  /** Subscribes series that are new, closes those that are gone; resolves after the first attempt of each. */
  async setMembers(members: readonly SeriesFeed[]): Promise<void> {
    const next = new Map(members.map((m) => [m.id, m]));
    for (const id of [...this.#members.keys()]) if (!next.has(id)) await this.#drop(id);
    const fresh = members.filter((m) => !this.#members.has(m.id));
    for (const m of fresh) this.#members.set(m.id, m);
    await Promise.all(fresh.map((m) => this.#subscribe(m)));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const id of [...this.#members.keys()]) await this.#drop(id);
  }

  status(): Record<string, unknown> {
    const failed = this.#problems.size;
    return {
      venue: this.venue,
      mode: this.mode,
      state: failed === 0 ? 'subscribed' : failed === this.#members.size ? 'failed' : 'partly failed',
      ...(failed > 0 ? { problems: Object.fromEntries(this.#problems) } : {}),
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

  async #subscribe(member: SeriesFeed): Promise<void> {
    if (this.#stopped || this.#members.get(member.id) !== member) return;
    try {
      const adapter = await this.#adapterNow();
      const subscription = await adapter.subscribeCandles([{ inst: member.series.inst, tf: member.series.tf }], {
        onCandle: (c) => member.onCandle(c),
        onResubscribed: () => this.#onResubscribed(member),
        onError: (err) => this.env.noteError(err, { venue: this.venue }),
      });
      if (this.#stopped || this.#members.get(member.id) !== member) {
        await subscription.close();
        return;
      }
      this.#subscriptions.set(member.id, subscription);
      this.#problems.delete(member.id);
      this.#failures.delete(member.id);
      member.adapter = adapter;
      member.onCaughtUp = (m) => this.#caughtUp(m);
      member.requestCatchUp();
    } catch (err) {
      // An unknown adapter, a refused instrument: reported in status and tried again later, so a
      // plugin loaded or a plan fixed afterwards heals the feed without a restart.
      if (this.#stopped) return;
      this.#problems.set(member.id, (err as Error).message);
      this.env.noteError(err, { series: member.id, what: 'subscribe' });
      const failures = (this.#failures.get(member.id) ?? 0) + 1;
      this.#failures.set(member.id, failures);
      const delay = this.env.retryMs * 2 ** Math.min(failures - 1, 4);
      this.#retries.set(
        member.id,
        this.env.clock.setTimeout(() => void this.#subscribe(member), delay),
      );
    }
  }

  async #drop(id: string): Promise<void> {
    this.#members.delete(id);
    this.#problems.delete(id);
    this.#failures.delete(id);
    this.env.clock.clearTimeout(this.#retries.get(id));
    this.#retries.delete(id);
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
    member.requestCatchUp();
  }

  #caughtUp(member: SeriesFeed): void {
    if (!this.#awaiting.delete(member) || this.#awaiting.size > 0) return;
    this.lastCaughtUpAt = this.env.clock.now();
  }
}
