import { type AdapterRegistry, AdapterPort, adapterFor, type Clock, type InstrumentInfo, type MarketDataAdapter } from '@kokex/core';
import type { GuardConfig, GuardPlan } from './config.js';

/**
 * Instrument metadata (tick, lot, minimum, contract value) per venue and instrument: from the
 * configuration's `instruments` when given, else from the plan's exchange adapter, resolved
 * with core's `adapterFor` as `exchange:{venue}` in the plan's mode (the guard's `adapters`
 * settings for the venue underneath). Answers are kept; a failed
 * lookup is retried after `instrumentRetryMs`, so a venue that is down costs one request per
 * period, not one per intent.
 */
export class InstrumentCache {
  readonly #known = new Map<string, InstrumentInfo>();
  readonly #failedAt = new Map<string, number>();
  readonly #pending = new Map<string, Promise<InstrumentInfo | undefined>>();
  lastError: string | undefined;

  constructor(
    private readonly adapters: AdapterRegistry,
    private readonly config: () => GuardConfig,
    private readonly clock: Clock,
  ) {}

  async resolve(plan: GuardPlan, inst: string): Promise<InstrumentInfo | undefined> {
    const known = this.get(plan, inst);
    if (known) return known;
    const key = `${plan.venue}|${plan.mode}|${inst}`;
    const failed = this.#failedAt.get(key);
    if (failed !== undefined && this.clock.now() - failed < this.config().instrumentRetryMs) return undefined;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#fetch(plan, inst, key).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  get(plan: Pick<GuardPlan, 'venue' | 'mode'>, inst: string): InstrumentInfo | undefined {
    const spec = this.config().instruments[inst];
    if (spec) return { venue: plan.venue, inst, instType: inst.split('-').length === 2 ? 'SPOT' : 'SWAP', state: 'live', ...spec };
    return this.#known.get(`${plan.venue}|${plan.mode}|${inst}`);
  }

  /**
   * The venue's own last price of an instrument (its ticker), or undefined when the venue does not
   * answer within `timeoutMs` (the guard then keeps what it believed).
   */
  async ticker(plan: GuardPlan, inst: string, timeoutMs: number): Promise<number | undefined> {
    let timer: unknown;
    try {
      const adapter = await adapterFor<MarketDataAdapter>(
        this.adapters,
        AdapterPort.exchange,
        { name: plan.venue, mode: plan.mode },
        this.config().adapters,
      );
      const timeout = new Promise<undefined>((resolve) => {
        timer = this.clock.setTimeout(() => resolve(undefined), timeoutMs);
      });
      const t = await Promise.race([adapter.ticker(inst), timeout]);
      return t && Number.isFinite(t.last) && t.last > 0 ? t.last : undefined;
    } catch (err) {
      this.lastError = `${inst} ticker: ${(err as Error).message}`;
      return undefined;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
  }

  async #fetch(plan: GuardPlan, inst: string, key: string): Promise<InstrumentInfo | undefined> {
    try {
      const adapter = await adapterFor<MarketDataAdapter>(
        this.adapters,
        AdapterPort.exchange,
        { name: plan.venue, mode: plan.mode },
        this.config().adapters,
      );
      const info = await adapter.instrument(inst);
      this.#known.set(key, info);
      this.#failedAt.delete(key);
      return info;
    } catch (err) {
      this.#failedAt.set(key, this.clock.now());
      this.lastError = `${inst}: ${(err as Error).message}`;
      return undefined;
    }
  }
}
