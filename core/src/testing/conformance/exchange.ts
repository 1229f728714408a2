import assert from 'node:assert/strict';
import type { Candle } from '../../contracts/market.js';
import type {
  ExecutionAdapter,
  InstrumentInfo,
  MarketDataAdapter,
  PlaceOrderRequest,
  PlaceOrderResult,
  VenueOrder,
  VenueOrderUpdate,
} from '../../ports/exchange.js';
import { timeframeMs } from '../../time/timeframe.js';

/**
 * The exchange-adapter conformance suite: what every venue adapter (OKX, paper, Binance, a third
 * party's) must do the same way for the feed, the guard and the executor to work unchanged on it.
 * It registers test cases with the test runner it is given, so core never imports vitest itself:
 *
 * ```ts
 * import { describe, it, beforeAll, afterAll } from 'vitest';
 * exchangeConformance({ describe, it, beforeAll, afterAll }, { name: 'okx on okx-sim', setup });
 * ```
 *
 * `setup` starts the adapter against a peer the test controls (a simulator on localhost, or the
 * bus for the paper venue). Cases whose ingredients the setup leaves out (no market-data adapter,
 * no way to cut connections, no amend) are not registered, so each adapter runs what applies.
 */

type Body = () => Promise<void> | void;
/** What a case gets from the runner: vitest's `skip()` marks a case that does not apply as skipped. */
export interface ConformanceCaseContext {
  skip(note?: string): void;
}
/** The part of a test runner the suite uses (vitest's functions fit). */
export interface ConformanceRunner {
  describe(name: string, body: () => void): void;
  it(name: string, body: (ctx: ConformanceCaseContext) => Promise<void> | void, timeoutMs?: number): void;
  beforeAll(body: Body, timeoutMs?: number): void;
  afterAll(body: Body, timeoutMs?: number): void;
}

/** What the test controls on the venue's side. */
export interface ExchangeConformancePeer {
  /** The venue's time now (ms): the open of its current bar is at or before it. */
  now(): number;
  /** The venue's last price of the instrument under test. */
  price(): number;
  /** Moves the venue one bar of the suite's timeframe on: the current bar closes, due orders fill. */
  advance(): Promise<void> | void;
  /** Cuts every WebSocket of the venue now, as a network failure would (no close handshake). */
  dropConnections?(): Promise<void> | void;
  /**
   * Runs `body` while the venue executes requests but their answers are lost or late (a timeout
   * from the client's side); answers are delivered normally again once it returns.
   */
  withLostResponses?<T>(body: () => Promise<T>): Promise<T>;
  /** Turns the venue's rate-limit refusal on for every request (`true`) or back off. */
  setRateLimited?(on: boolean): Promise<void> | void;
}

export interface ExchangeConformanceSubject {
  /** The market-data side; leave out for an execution-only venue (paper). */
  market?: MarketDataAdapter;
  /** The trading side; leave out for a data-only adapter. */
  execution?: ExecutionAdapter;
  peer: ExchangeConformancePeer;
  inst: string;
  /** Timeframe of `peer.advance()` and of the candle cases (a core timeframe: `1m`). */
  tf: string;
  /** An order size (in the venue's order unit) above the venue's minimum size and notional. */
  orderSize: number;
  /** Instrument rules the venue lists for `inst` (what the peer was set up with). */
  instrument?: Partial<Omit<InstrumentInfo, 'venue' | 'inst'>>;
  /**
   * A range of bar opens, [since, until), that the venue holds in full, and the most bars one
   * history request of the venue returns (the range should need several pages).
   */
  history?: { since: number; until: number; venuePageLimit?: number };
  /** An instrument id the venue does not list. Default `NO-SUCH-INST`. */
  unknownInst?: string;
  /** Amends a resting order's price, for venues that support amending. */
  amend?(ref: { inst: string; clientOrderId: string }, change: { price: number }): Promise<void>;
  /** Whether an error says a retry can help. Default: its `retryable` field. */
  retryable?(err: unknown): boolean;
  /** Stops what the setup started (adapters, peer). */
  close(): Promise<void>;
}

export interface ExchangeConformanceOptions {
  /** Names the suite in the test report: `okx on okx-sim`. */
  name: string;
  setup(): Promise<ExchangeConformanceSubject>;
  /** Time limit of each case (ms). Default 30,000. */
  timeoutMs?: number;
}

const poll = async (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> => {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > end) throw new assert.AssertionError({ message: `timed out waiting for ${what}` });
    await new Promise((r) => setTimeout(r, 20));
  }
};

const defaultRetryable = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;

/** Client order ids that fit every venue: letters and digits, at most 32. */
let serial = 0;
const clientId = (tag: string): string =>
  `cf${tag}${(performance.timeOrigin + performance.now()).toString(36).replace('.', '')}${serial++}`.slice(0, 32);

function onGrid(value: number, step: number | undefined, round: (n: number) => number): number {
  if (!step || step <= 0) return value;
  const decimals = Math.max(0, Math.ceil(-Math.log10(step)) + 2);
  return Number((round(value / step) * step).toFixed(decimals));
}

/** Registers the suite's cases with `runner`. */
export function exchangeConformance(runner: ConformanceRunner, options: ExchangeConformanceOptions): void {
  const timeout = options.timeoutMs ?? 30_000;
  let s: ExchangeConformanceSubject | undefined;
  const subject = (): ExchangeConformanceSubject => {
    if (!s) throw new Error('exchange conformance: setup() did not finish');
    return s;
  };
  const market = (): MarketDataAdapter => subject().market as MarketDataAdapter;
  const execution = (): ExecutionAdapter => subject().execution as ExecutionAdapter;
  const retryable = (err: unknown) => (subject().retryable ?? defaultRetryable)(err);
  let tick: number | undefined;
  /** A limit price far from the market on the side that never fills (on the instrument's tick). */
  const restingPrice = async (side: 'buy' | 'sell'): Promise<number> => {
    const sub = subject();
    tick ??= sub.market ? (await sub.market.instrument(sub.inst)).tickSize : (sub.instrument?.tickSize ?? 0);
    const p = sub.peer.price();
    return side === 'buy' ? onGrid(p * 0.9, tick, Math.floor) : onGrid(p * 1.1, tick, Math.ceil);
  };
  const request = (over: Partial<PlaceOrderRequest> & { clientOrderId: string }): PlaceOrderRequest => ({
    inst: subject().inst,
    side: 'buy',
    size: subject().orderSize,
    type: 'market',
    reduceOnly: false,
    ...over,
  });

  // Cases are registered from what the setup gives, which is known only once it ran; so every
  // group is registered and a case the subject cannot run returns early, saying why in its name.
  runner.describe(`exchange adapter conformance: ${options.name}`, () => {
    const updates: VenueOrderUpdate[] = [];
    let closeOrders: (() => Promise<void>) | undefined;

    runner.beforeAll(async () => {
      s = await options.setup();
      if (s.execution) {
        const sub = await s.execution.subscribeOrders({ onOrder: (u) => updates.push(u) });
        closeOrders = () => sub.close();
      }
    }, timeout);
    runner.afterAll(async () => {
      await closeOrders?.().catch(() => undefined);
      await s?.close();
    }, timeout);

    /** A case that applies only when `applies()` holds; otherwise the runner reports it skipped. */
    const when = (applies: () => unknown, why: string) => (name: string, body: () => Promise<void>) =>
      runner.it(
        name,
        async (ctx) => {
          if (!applies()) return ctx.skip(why);
          await body();
        },
        timeout,
      );
    const ifMarket = when(() => subject().market, 'no market-data adapter');
    const ifExecution = when(() => subject().execution, 'no execution adapter');

    // --- instruments ------------------------------------------------------------------------
    ifMarket('lists the instrument with its trading rules (tick, lot, minimum size, contract value)', async () => {
      const { inst, instrument } = subject();
      const info = await market().instrument(inst);
      assert.equal(info.venue, market().venue);
      assert.equal(info.inst, inst);
      assert.equal(info.state, 'live');
      for (const field of ['tickSize', 'lotSize', 'minSize', 'contractValue'] as const) {
        assert.ok(Number.isFinite(info[field]) && info[field] > 0, `${field} is a positive number (got ${info[field]})`);
      }
      assert.ok(info.minSize >= info.lotSize - 1e-12, `minSize ${info.minSize} is at least one lot ${info.lotSize}`);
      for (const [key, value] of Object.entries(instrument ?? {})) {
        assert.deepEqual(info[key as keyof InstrumentInfo], value, `instrument.${key}`);
      }
      assert.ok(subject().orderSize >= info.minSize, 'the suite orders at least the minimum size');
    });

    ifMarket('refuses an unknown instrument with an error no retry can help', async () => {
      const err = await market()
        .instrument(subject().unknownInst ?? 'NO-SUCH-INST')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err, 'instrument() of an unknown id rejects');
      assert.equal(retryable(err), false, `not retryable: ${String(err)}`);
    });

    // --- candle history ---------------------------------------------------------------------
    ifMarket('pages candle history: every closed bar of the range, once, oldest first, within the venue limit', async () => {
      const { inst, tf, history } = subject();
      if (!history) throw new Error('the subject names no history range: set `history`');
      const step = timeframeMs(tf);
      const pages: Candle[][] = [];
      for await (const page of market().candleHistory({ inst, tf, since: history.since, until: history.until })) pages.push(page);
      const bars = pages.flat();
      const expected = Math.round((history.until - history.since) / step);
      assert.equal(bars.length, expected, `${expected} bars in [since, until)`);
      assert.equal(bars[0]?.ts, history.since);
      bars.forEach((c, i) => {
        assert.equal(c.ts, history.since + i * step, `bar ${i} opens one step after the one before`);
        assert.equal(c.confirmed, true);
        assert.equal(c.inst, inst);
        assert.equal(c.tf, tf);
        assert.ok(c.low <= Math.min(c.open, c.close) && c.high >= Math.max(c.open, c.close), `bar ${i} has a consistent range`);
      });
      if (history.venuePageLimit && expected > history.venuePageLimit) {
        assert.ok(pages.length > 1, 'a range above the venue limit comes in several pages');
      }
      for (const page of pages) assert.ok(page.length > 0, 'no empty pages');
    });

    ifMarket('history holds closed bars only, and an empty range yields nothing', async () => {
      const { inst, tf, peer } = subject();
      const step = timeframeMs(tf);
      const now = peer.now();
      const bars: Candle[] = [];
      for await (const page of market().candleHistory({ inst, tf, since: now - 5 * step, until: now + 10 * step })) bars.push(...page);
      assert.ok(bars.length >= 3, `recent bars are there (${bars.length})`);
      for (const c of bars) {
        assert.equal(c.confirmed, true);
        assert.ok(c.ts + step <= now + 1, `bar ${c.ts} closed at or before the venue's now ${now}`);
      }
      const none: Candle[] = [];
      for await (const page of market().candleHistory({ inst, tf, since: now, until: now - step })) none.push(...page);
      assert.deepEqual(none, []);
    });

    // --- live candles -------------------------------------------------------------------------
    ifMarket('streams live candles, reconnects after a cut, and history fills what the cut missed', async () => {
      const { inst, tf, peer } = subject();
      const step = timeframeMs(tf);
      const closed = new Map<number, Candle>();
      let resubscribed = 0;
      let open = 0;
      const sub = await market().subscribeCandles([{ inst, tf }], {
        onCandle: (c) => {
          assert.equal(c.inst, inst);
          if (c.confirmed) closed.set(c.ts, c);
          else open++;
        },
        onResubscribed: () => resubscribed++,
      });
      try {
        const before = closed.size;
        await poll(async () => {
          await peer.advance();
          return closed.size > before;
        }, 'a closed candle on the stream');
        assert.ok(open + closed.size > 0);
        if (!peer.dropConnections) return;
        const firstSeen = Math.min(...closed.keys());
        await peer.dropConnections();
        // Bars close while the client is reconnecting: some of them it never hears live.
        await peer.advance();
        await peer.advance();
        await poll(() => resubscribed > 0, 'onResubscribed after the cut');
        const after = Math.max(...closed.keys());
        await poll(async () => {
          await peer.advance();
          return Math.max(...closed.keys()) > after;
        }, 'live candles again after the reconnect');
        const last = Math.max(...closed.keys());
        // The feed's catch-up: ask history for the range, as it does after onResubscribed.
        for await (const page of market().candleHistory({ inst, tf, since: firstSeen, until: last + step })) {
          for (const c of page) if (!closed.has(c.ts)) closed.set(c.ts, c);
        }
        const ts = [...closed.keys()].sort((a, b) => a - b).filter((t) => t <= last);
        const gaps = ts.filter((t, i) => t !== firstSeen + i * step);
        assert.equal(
          ts.length,
          (last - firstSeen) / step + 1,
          `live and history together cover every bar (out of place: ${gaps.join(',')})`,
        );
      } finally {
        await sub.close();
      }
    });

    // --- orders -------------------------------------------------------------------------------
    ifExecution('places a resting limit order, lists it, cancels it; events say live then canceled', async () => {
      const { inst } = subject();
      const price = await restingPrice('buy');
      const id = clientId('lim');
      const placed = await execution().placeOrder(request({ clientOrderId: id, type: 'limit', price }));
      assert.equal(placed.accepted, true, `accepted (${placed.reason ?? ''})`);
      assert.equal(placed.duplicate, false);
      assert.equal(placed.clientOrderId, id);
      assert.ok(placed.venueOrderId.length > 0);
      const order = await execution().getOrder({ inst, clientOrderId: id });
      assert.ok(order, 'getOrder finds it by client order id');
      assert.equal(order.state, 'live');
      assert.equal(order.venueOrderId, placed.venueOrderId);
      assert.equal(order.side, 'buy');
      assert.equal(order.type, 'limit');
      assert.ok(Math.abs((order.price ?? 0) - price) < 1e-9, `price ${order.price} is ${price}`);
      assert.ok(Math.abs(order.size - subject().orderSize) < 1e-9);
      assert.equal(order.filledSize, 0);
      const byVenueId = await execution().getOrder({ inst, venueOrderId: placed.venueOrderId });
      assert.equal(byVenueId?.clientOrderId, id);
      assert.ok((await execution().openOrders(inst)).some((o) => o.clientOrderId === id));
      await poll(() => updates.some((u) => u.order.clientOrderId === id && u.order.state === 'live'), 'a live event');
      await execution().cancelOrder({ inst, clientOrderId: id });
      await poll(async () => (await execution().getOrder({ inst, clientOrderId: id }))?.state === 'canceled', 'the order canceled');
      assert.ok(!(await execution().openOrders(inst)).some((o) => o.clientOrderId === id));
      await poll(() => updates.some((u) => u.order.clientOrderId === id && u.order.state === 'canceled'), 'a canceled event');
      // Cancelling what is already final is not an error.
      await execution().cancelOrder({ inst, clientOrderId: id });
    });

    when(() => subject().execution && subject().amend, 'the venue does not amend')(
      'amends a resting order where the venue supports it',
      async () => {
        const { inst, amend } = subject() as Required<ExchangeConformanceSubject>;
        const price = await restingPrice('buy');
        const id = clientId('amd');
        assert.equal((await execution().placeOrder(request({ clientOrderId: id, type: 'limit', price }))).accepted, true);
        const lower = await restingPrice('buy').then((p) => onGrid(p * 0.99, tick, Math.floor));
        await amend({ inst, clientOrderId: id }, { price: lower });
        await poll(
          async () => Math.abs(((await execution().getOrder({ inst, clientOrderId: id }))?.price ?? 0) - lower) < 1e-9,
          'the new price',
        );
        await execution().cancelOrder({ inst, clientOrderId: id });
      },
    );

    ifExecution('is idempotent by client order id: a repeat places nothing new', async () => {
      const { inst } = subject();
      const id = clientId('dup');
      const price = await restingPrice('buy');
      const first = await execution().placeOrder(request({ clientOrderId: id, type: 'limit', price }));
      const again = await execution().placeOrder(request({ clientOrderId: id, type: 'limit', price }));
      assert.equal(first.accepted, true);
      assert.equal(again.accepted, true);
      assert.equal(again.duplicate, true, 'the repeat is reported as a duplicate');
      assert.equal(again.venueOrderId, first.venueOrderId);
      assert.equal((await execution().openOrders(inst)).filter((o) => o.clientOrderId === id).length, 1);
      await execution().cancelOrder({ inst, clientOrderId: id });
    });

    when(() => subject().execution && subject().peer.withLostResponses, 'the peer cannot lose answers')(
      'a retry after a timed-out place finds the order the venue did take, and places no second one',
      async () => {
        const { inst, peer } = subject();
        const lose = peer.withLostResponses?.bind(peer) as NonNullable<ExchangeConformancePeer['withLostResponses']>;
        const id = clientId('lost');
        const price = await restingPrice('buy');
        let first: PlaceOrderResult | unknown;
        await lose(async () => {
          first = await execution()
            .placeOrder(request({ clientOrderId: id, type: 'limit', price }))
            .catch((e: unknown) => e);
        });
        if (!(first && typeof first === 'object' && 'accepted' in first)) {
          assert.equal(retryable(first), true, `a lost answer is a retryable error: ${String(first)}`);
        }
        let retried: PlaceOrderResult | undefined;
        await poll(async () => {
          retried = await execution()
            .placeOrder(request({ clientOrderId: id, type: 'limit', price }))
            .catch(() => undefined);
          return retried !== undefined;
        }, 'the retry to be answered');
        assert.equal(retried?.accepted, true);
        let venue: VenueOrder[] = [];
        await poll(async () => {
          venue = (await execution().openOrders(inst)).filter((o) => o.clientOrderId === id);
          return venue.length > 0;
        }, 'the order at the venue');
        assert.equal(venue.length, 1, 'exactly one order at the venue');
        assert.equal(retried?.venueOrderId, venue[0]?.venueOrderId);
        await execution().cancelOrder({ inst, clientOrderId: id });
      },
    );

    // --- fills, positions, balances --------------------------------------------------------------
    ifExecution('fills a market order: a fill event, the position, the balance; a reduce-only order closes it', async () => {
      const { inst, peer, orderSize } = subject();
      const startSize = (await execution().positions(inst)).find((p) => p.inst === inst)?.size ?? 0;
      const balances = await execution().balances();
      assert.ok(balances.length > 0, 'balances are listed');
      for (const b of balances) {
        assert.ok(b.ccy.length > 0);
        assert.ok(Number.isFinite(b.total) && Number.isFinite(b.available));
      }
      assert.ok(
        balances.some((b) => b.total > 0),
        'some balance to trade with',
      );
      const id = clientId('mkt');
      const placed = await execution().placeOrder(request({ clientOrderId: id }));
      assert.equal(placed.accepted, true, `accepted (${placed.reason ?? ''})`);
      await poll(async () => {
        if (updates.some((u) => u.order.clientOrderId === id && u.order.state === 'filled')) return true;
        await peer.advance();
        return false;
      }, 'a filled event');
      const fills = updates.filter((u) => u.order.clientOrderId === id && u.fill);
      assert.ok(fills.length > 0, 'the fill carries fill details');
      const filled = fills.reduce((n, u) => n + (u.fill?.size ?? 0), 0);
      // Pushes may repeat: the sizes of distinct fills add up to the order, repeats never exceed it by design of the caller.
      assert.ok(filled >= orderSize - 1e-9, `fills add up to the order (${filled})`);
      for (const u of fills) assert.ok((u.fill?.price ?? 0) > 0 && Number.isFinite(u.fill?.fee ?? 0));
      const order = await execution().getOrder({ inst, clientOrderId: id });
      assert.equal(order?.state, 'filled');
      assert.ok(Math.abs((order?.filledSize ?? 0) - orderSize) < 1e-9);
      assert.ok((order?.avgPrice ?? 0) > 0);
      await poll(async () => {
        const p = (await execution().positions(inst)).find((x) => x.inst === inst);
        return Math.abs((p?.size ?? 0) - (startSize + orderSize)) < 1e-9;
      }, 'the position grown by the order');
      const position = (await execution().positions(inst)).find((x) => x.inst === inst);
      assert.ok((position?.avgPrice ?? 0) > 0);

      const closeId = clientId('cls');
      const closing = await execution().placeOrder(request({ clientOrderId: closeId, side: 'sell', size: orderSize, reduceOnly: true }));
      assert.equal(closing.accepted, true, `reduce-only accepted (${closing.reason ?? ''})`);
      await poll(async () => {
        if (updates.some((u) => u.order.clientOrderId === closeId && u.order.state === 'filled')) return true;
        await peer.advance();
        return false;
      }, 'the closing fill');
      await poll(async () => {
        const p = (await execution().positions(inst)).find((x) => x.inst === inst);
        return Math.abs((p?.size ?? 0) - startSize) < 1e-9;
      }, 'the position back where it was');
    });

    ifExecution('maps refusals: an order the venue cannot take is refused, never retried as weather', async () => {
      const result = await execution()
        .placeOrder(request({ clientOrderId: clientId('bad'), inst: subject().unknownInst ?? 'NO-SUCH-INST' }))
        .then(
          (r) => r,
          (e: unknown) => e,
        );
      if (result && typeof result === 'object' && 'accepted' in result) {
        assert.equal((result as PlaceOrderResult).accepted, false, 'refused');
        assert.ok(((result as PlaceOrderResult).reason ?? '').length > 0, 'with a reason');
      } else {
        assert.equal(retryable(result), false, `a refusal is not retryable: ${String(result)}`);
      }
    });

    // --- rate limits ----------------------------------------------------------------------------
    when(() => subject().peer.setRateLimited, 'the peer cannot rate-limit')(
      'rate limits: retryable while they last, and a call made during one succeeds after the back-off',
      async () => {
        const { peer } = subject() as { peer: Required<ExchangeConformancePeer> };
        const call = (): Promise<unknown> => (s?.execution ? s.execution.balances() : market().instrument(subject().inst));
        await peer.setRateLimited(true);
        let err: unknown;
        try {
          err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
        } finally {
          await peer.setRateLimited(false);
        }
        assert.ok(err, 'a call rejects while every request is rate limited');
        assert.equal(retryable(err), true, `rate limiting is retryable: ${String(err)}`);
        await peer.setRateLimited(true);
        const pending = call();
        await new Promise((r) => setTimeout(r, 150));
        await peer.setRateLimited(false);
        await pending;
      },
    );
  });
}
