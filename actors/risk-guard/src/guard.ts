import {
  type ActorContext,
  type ActorLogic,
  ApprovedCancelContract,
  ApprovedOrderContract,
  Buckets,
  type CancelRequest,
  CancelRequestContract,
  type CancelVerdict,
  CancelVerdictContract,
  consume,
  type ControlRecord,
  DEAD_LETTER_EXCERPT_BYTES,
  DeadLetterContract,
  defineActorKind,
  type Envelope,
  initialControl,
  marketNow,
  ObjectStores,
  type OrderIntent,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
  readControl,
  Streams,
  subject,
  subjectFilter,
  Tokens,
  utf8Excerpt,
  watchControls,
} from '@kokex/core';
import { type Decision, evaluateCancel, evaluateIntent } from './checks.js';
import { type GuardConfig, type GuardPlan, guardConfigFromPlans, guardConfigSchema } from './config.js';
import { RiskErrorCode, RiskPublishError, RiskStreamReadError } from './errors.js';
import { InstrumentCache } from './instruments.js';
import { PlanBooks, type RefusedMessage } from './books.js';
import { BooksSnapshots } from './books-snapshot.js';
import { MarketView } from './market.js';
import { RiskReason } from './reasons.js';
import type { PlanLedger } from './ledger.js';
import { OrdersTail } from './orders-tail.js';
import { reconcilingDenial } from './reconciling.js';
import { planSummary } from './summary.js';

/** How long the guard waits for the venue's ticker when a held-back price needs it. */
const TICKER_TIMEOUT_MS = 2000;
/** How often a reduce-only intent waiting for a market order's report reads ORDERS again. */
const REDUCE_ONLY_POLL_MS = 20;

/** The durable every guard replica pulls intents from. */
export const RISK_GUARD_DURABLE = 'risk-guard';
/** The durable every guard replica pulls cancel requests from. */
export const RISK_GUARD_CANCEL_DURABLE = 'risk-guard-cancels';

/**
 * The risk guard: the only producer of `kokex.order.approved.*` and `kokex.order.cancelapproved.*`.
 * Every intent on `kokex.order.intent.>` gets a verdict on `kokex.order.verdict.{plan}.{inst}`
 * (reason code, rule, limit, value); approved ones also go to `kokex.order.approved.{venue}.{inst}`
 * with the client order id as message id, so a redelivered intent never yields a second approval.
 * Every cancel request on `kokex.order.cancel.>` gets a cancel verdict, and approved ones an
 * approved cancel for the executor (`evaluateCancel`: ownership and the kill switch only).
 *
 * Intents are decided one at a time across all replicas (the durable allows one unacked message),
 * and before each the guard reads ORDERS to its end, so its book (rebuilt from the stream at
 * start) includes every earlier verdict and fill whoever stored them.
 */
export function createRiskGuardLogic(ctx: ActorContext<GuardConfig>): ActorLogic<GuardConfig> {
  let config = ctx.config;
  const controls = new Map<string, ControlRecord>();
  // Market time per plan (wall live, the data's own in a replay); candles of a venue move the clocks of its plans.
  const clockOf = (plan: GuardPlan) => ctx.marketClocks.of(plan.plan, plan.mode);
  const market = new MarketView(ctx.bus, ctx.log, {
    clocksOf: (venue) => config.plans.filter((p) => p.venue === venue).map(clockOf),
    futureToleranceMs: config.futureToleranceMs,
    maxPriceMove: config.maxPriceMove,
  });
  const instruments = new InstrumentCache(ctx.container.resolve(Tokens.Adapters), () => config, ctx.clock);
  const totals = {
    approved: 0,
    denied: 0,
    redelivered: 0,
    cancels: { approved: 0, denied: 0, byReason: {} as Record<string, number> },
    byReason: {} as Record<string, number>,
  };
  const verdictsTotal = ctx.metrics.counter('kokex_verdicts_total', 'Risk verdicts on intents', ['plan', 'decision', 'reason']);
  const reduceOnlyWaits = ctx.metrics.counter(
    'kokex_guard_reduce_only_waits_total',
    'Reduce-only intents that waited for a market order in flight to be reported: reported in time, or timeout',
    ['plan', 'outcome'],
  );
  const killSwitch = ctx.metrics.gauge('kokex_kill_switch', 'Kill switch thrown (1) or not (0) per plan', ['plan']);
  const subscriptions: Array<{ unsubscribe(): void }> = [];
  let stopWatch: (() => void) | undefined;
  let poll: unknown;
  let lastVerdict: (OrderVerdict & { at: number }) | undefined;

  // What the books refuse (not the guard's, not the executor's, never approved, undecodable) is dead-lettered, never dropped.
  const booksDurable = `${RISK_GUARD_DURABLE}-books`;
  const deadLetter = (m: RefusedMessage) => {
    const excerpt = utf8Excerpt(m.data, DEAD_LETTER_EXCERPT_BYTES);
    const letter = {
      stream: Streams.orders,
      consumer: booksDurable,
      subject: m.subject,
      streamSeq: m.seq ?? 0,
      deliveries: 1,
      error: {
        code: RiskErrorCode.Unbooked,
        message: `not booked (${m.refusal}): ${m.detail}`.slice(0, 1000),
        retryable: false,
        data: { refusal: m.refusal },
      },
      payload: excerpt.text,
      payloadBytes: m.data.length,
      truncated: excerpt.truncated,
    };
    const meta = {
      source: ctx.instanceId,
      time: ctx.clock.now(),
      ...(m.seq !== undefined ? { id: `dlq:${Streams.orders}:${booksDurable}:${m.seq}` } : {}),
    };
    ctx.log.warn(
      { subject: m.subject, seq: m.seq, refusal: m.refusal, detail: m.detail },
      'risk guard: ORDERS message not booked; dead-lettered',
    );
    void ctx.bus
      .publish(DeadLetterContract, subject('dlq', { stream: Streams.orders, consumer: booksDurable }), letter, meta)
      .catch((err: unknown) =>
        ctx.log.error({ err, subject: m.subject, seq: m.seq }, 'risk guard: dead-lettering an unbooked message failed'),
      );
  };
  const books = new PlanBooks(deadLetter);
  const ledgerOf = (plan: string) => books.ledgerOf(plan);
  const planOf = (name: string) => config.plans.find((p) => p.plan === name);
  const tail = new OrdersTail(
    ctx.bus,
    (subj, data, seq) => books.apply(subj, data, seq),
    undefined,
    (from, to) =>
      ctx.log.error(
        { from, to },
        'risk guard: ORDERS removed messages the books never saw (lost history); the executor reconciliation restores the venue truth',
      ),
  );
  // The books as of an ORDERS sequence, so a start reads only what follows it (issue 12 finding 3).
  const snapshots = new BooksSnapshots({
    bus: ctx.bus,
    books,
    tail,
    log: ctx.log,
    clock: ctx.clock,
    source: ctx.instanceId,
    everyMessages: config.snapshotEveryMessages,
    everyMs: config.snapshotEveryMs,
  });
  const catchUp = async () => {
    try {
      await tail.catchUp();
    } catch (err) {
      throw new RiskStreamReadError(err);
    }
    snapshots.afterRead();
  };

  const publish = async (what: string, send: () => Promise<{ seq: number }>): Promise<void> => {
    let seq: number;
    try {
      ({ seq } = await send());
    } catch (err) {
      throw new RiskPublishError(what, err);
    }
    tail.markOwn(seq);
  };

  const approvedOrder = (plan: GuardPlan | undefined, intent: OrderIntent, verdict: OrderVerdict, reduceOnly: boolean) => ({
    plan: intent.plan,
    venue: plan?.executionVenue ?? intent.venue,
    inst: intent.inst,
    side: intent.side,
    size: verdict.size ?? intent.size,
    type: intent.type,
    price: verdict.price,
    clientOrderId: intent.clientOrderId,
    reduceOnly,
  });

  /**
   * Stores the verdict (and the approval) with ids derived from the intent, so a repeat stores
   * nothing new. Both go out together: should only one land before a crash, the redelivered intent
   * sends both again and the stream keeps the first of each.
   */
  const emit = async (env: Envelope<OrderIntent>, verdict: OrderVerdict, reduceOnly: boolean, at: number) => {
    const intent = env.data;
    // Wall time for latency figures; the market time the verdict was judged at, which the book keeps.
    const meta = { correlationId: env.correlationId, causationId: env.id, source: ctx.instanceId, time: ctx.clock.now(), eventTime: at };
    const verdictId = `verdict:${env.id}`;
    const plan = planOf(intent.plan);
    const order = verdict.decision === 'approve' ? approvedOrder(plan, intent, verdict, reduceOnly) : undefined;
    const orderId = `approved:${intent.clientOrderId}`;
    await Promise.all([
      publish('verdict', () =>
        ctx.bus.publish(OrderVerdictContract, subject('orderVerdict', { plan: intent.plan, inst: intent.inst }), verdict, {
          ...meta,
          id: verdictId,
        }),
      ),
      order &&
        publish('approval', () =>
          ctx.bus.publish(ApprovedOrderContract, subject('orderApproved', { venue: order.venue, inst: intent.inst }), order, {
            ...meta,
            causationId: verdictId,
            id: orderId,
          }),
        ),
    ]);
    ledgerOf(intent.plan).recordDecision(env.id, verdict, at);
    if (order) ledgerOf(intent.plan).recordApproval(order, at);
  };

  /**
   * A cancel request's verdict and, when approved, the approved cancel, with ids derived from the
   * request's cancel id (stored once however often the request is delivered).
   */
  const emitCancel = async (env: Envelope<CancelRequest>, verdict: CancelVerdict, now: number) => {
    const request = env.data;
    const meta = { correlationId: env.correlationId, causationId: env.id, source: ctx.instanceId, time: now, eventTime: env.eventTime };
    const verdictId = `cancelverdict:${request.cancelId}`;
    const venue = planOf(request.plan)?.executionVenue ?? request.venue;
    const approved = { plan: request.plan, venue, inst: request.inst, cancelId: request.cancelId, clientOrderId: request.clientOrderId };
    await Promise.all([
      publish('cancel verdict', () =>
        ctx.bus.publish(CancelVerdictContract, subject('cancelVerdict', { plan: request.plan, inst: request.inst }), verdict, {
          ...meta,
          id: verdictId,
        }),
      ),
      verdict.decision === 'approve' &&
        publish('approved cancel', () =>
          ctx.bus.publish(ApprovedCancelContract, subject('cancelApproved', { venue, inst: request.inst }), approved, {
            ...meta,
            causationId: verdictId,
            id: `cancelapproved:${request.cancelId}`,
          }),
        ),
    ]);
    // Booked at the market time it speaks for, as a rebuild from ORDERS books it (the verdict's eventTime).
    ledgerOf(request.plan).recordCancel(env.id, verdict, env.eventTime);
  };

  const decideCancel = async (env: Envelope<CancelRequest>, seq: number): Promise<void> => {
    tail.markOwn(seq);
    await catchUp();
    const request = env.data;
    const ledger = ledgerOf(request.plan);
    const now = ctx.clock.now();
    const prior = ledger.cancels.get(request.cancelId);
    // A redelivery gets its first answer again (the order may be cancelled by now); another
    // request reusing the cancel id is answered the same, since its verdict id is already stored.
    if (prior) return emitCancel(env, prior.verdict, now);
    const decision = evaluateCancel({ request, plan: planOf(request.plan), control: controls.get(request.plan), ledger });
    const verdict: CancelVerdict = {
      plan: request.plan,
      inst: request.inst,
      cancelId: request.cancelId,
      clientOrderId: request.clientOrderId,
      ...decision,
    };
    await emitCancel(env, verdict, now);
    totals.cancels[verdict.decision === 'approve' ? 'approved' : 'denied']++;
    totals.cancels.byReason[verdict.reason] = (totals.cancels.byReason[verdict.reason] ?? 0) + 1;
  };

  /**
   * Reads ORDERS until the plan's market orders on `inst` have their outcome booked, for at most
   * `reduceOnlyWaitMs` of wall time (an infrastructure wait: what is then judged is the book as
   * read, at the intent's market time). A market order fills or fails at once at the venue, so its
   * report is on its way; a resting limit order is not waited for.
   */
  const untilMarketOrdersReported = async (ledger: PlanLedger, inst: string) => {
    const inFlight = () => ledger.openOrders().some((o) => o.inst === inst && o.type === 'market');
    if (!config.reduceOnlyWaitMs || !inFlight()) return;
    const deadline = ctx.clock.now() + config.reduceOnlyWaitMs;
    while (inFlight() && ctx.clock.now() < deadline) {
      await new Promise<void>((resolve) => ctx.clock.setTimeout(resolve, REDUCE_ONLY_POLL_MS));
      await catchUp();
    }
    if (inFlight()) reduceOnlyWaits.inc({ plan: ledger.plan, outcome: 'timeout' });
    else reduceOnlyWaits.inc({ plan: ledger.plan, outcome: 'reported' });
  };

  const decide = async (env: Envelope<OrderIntent>, seq: number): Promise<void> => {
    // The intent itself holds nothing for the book: no need to read it back.
    tail.markOwn(seq);
    await Promise.all([
      catchUp(),
      market.catchUp().catch((err: unknown) => ctx.log.warn({ err }, 'risk guard: reading market data failed')),
    ]);
    const intent = env.data;
    const ledger = ledgerOf(intent.plan);
    const prior = ledger.decided.get(intent.clientOrderId);
    if (prior && prior.intentId === env.id) {
      // A redelivery (the last guard died before its ack): the same verdict again, stored once.
      totals.redelivered++;
      const state = controls.get(intent.plan)?.state;
      await emit(env, prior.verdict, intent.reduceOnly || state === 'reducing', prior.at);
      return;
    }
    if (intent.reduceOnly) await untilMarketOrdersReported(ledger, intent.inst);
    const plan = planOf(intent.plan);
    // Market time: the plan's clock now (wall live, the newest accepted candle in a replay), and the
    // time the intent is judged at: its own eventTime, never before the plan's last approval, so a
    // replay at any speed counts the same market minutes, and the judged time never goes back.
    const clockNow = plan ? market.now(plan.venue) : undefined;
    const now = Math.max(ledger.lastApprovalAt ?? Number.NEGATIVE_INFINITY, env.eventTime);
    const allowed = plan?.instruments.includes(intent.inst) ?? false;
    // A close held back for a jump: the venue's own ticker may confirm it (issue 12 finding 1).
    if (plan && allowed && market.holdsPrice(plan.venue, intent.inst)) {
      const last = await instruments.ticker(plan, intent.inst, TICKER_TIMEOUT_MS);
      if (last !== undefined) market.confirmWithVenue(plan.venue, intent.inst, last);
    }
    const decision: Decision = evaluateIntent({
      intent,
      plan,
      control: controls.get(intent.plan),
      ledger,
      clientOrderIdUsed: books.used(intent.clientOrderId),
      instrument: plan && allowed ? await instruments.resolve(plan, intent.inst) : undefined,
      market: plan ? market.snapshot({ venue: plan.venue, inst: intent.inst, tf: plan.tf }, Math.max(now, clockNow ?? now)) : undefined,
      // The forecast the intent acted on when it names one; else (manual, rule, a trigger without one) the latest.
      forecast: !plan
        ? undefined
        : intent.basis.kind === 'forecast'
          ? await market.named(intent.basis, plan.venue)
          : market.forecast(intent.inst, plan.tf, plan.venue),
      tf: plan?.tf,
      quote: (inst) => ({
        price: plan ? market.price(plan.venue, inst) : undefined,
        contractValue: plan ? instruments.get(plan, inst)?.contractValue : undefined,
      }),
      now,
      eventTime: env.eventTime,
      marketNow: clockNow,
      futureToleranceMs: config.futureToleranceMs,
    });
    const { reduceOnly, ...approved } = decision;
    // No new risk before the venue and ORDERS agree (the executor's reconciliation).
    const held = plan && approved.decision === 'approve' ? reconcilingDenial(ledger, plan, intent.reduceOnly || reduceOnly) : undefined;
    const rest = held ?? approved;
    const verdict: OrderVerdict = { plan: intent.plan, inst: intent.inst, clientOrderId: intent.clientOrderId, side: intent.side, ...rest };
    // A verdict on an intent whose time was not believed is stamped with the clock's time, not the intent's.
    const timeDenied = verdict.reason === RiskReason.FutureTime || verdict.reason === RiskReason.IntentExpired;
    await emit(env, verdict, reduceOnly, timeDenied ? (clockNow ?? now) : now);
    if (verdict.decision === 'approve') totals.approved++;
    else totals.denied++;
    totals.byReason[verdict.reason] = (totals.byReason[verdict.reason] ?? 0) + 1;
    verdictsTotal.inc({ plan: verdict.plan, decision: verdict.decision, reason: verdict.reason });
    lastVerdict = { ...verdict, at: ctx.clock.now() };
  };

  const preparePlans = async () => {
    for (const plan of config.plans) {
      // Read, never written: an absent record is the plan's initial state, so the guard needs no
      // write access to kokex-risk and cannot lift a kill switch an operator threw.
      controls.set(plan.plan, (await readControl(ctx.bus, plan.plan)) ?? initialControl(plan.risk.initialState, ctx.clock.now()));
      killSwitch.set({ plan: plan.plan }, controls.get(plan.plan)?.killSwitch ? 1 : 0);
      // Warm the instrument cache without holding up the start: a venue that is down costs a denial, not a crash.
      for (const inst of plan.instruments) void instruments.resolve(plan, inst);
    }
    await market.load(config.plans.flatMap((p) => p.instruments.map((inst) => ({ venue: p.venue, inst, tf: p.tf }))));
  };

  const bell = () =>
    void tail
      .catchUp()
      .then(() => snapshots.afterRead())
      .catch((err: unknown) => ctx.log.warn({ err }, 'risk guard: reading ORDERS failed; the next bell retries'));

  return {
    consumers: [
      consume(
        {
          stream: Streams.orders,
          durable: RISK_GUARD_DURABLE,
          filter: subjectFilter('orderIntent'),
          contract: OrderIntentContract,
          // One unacked intent across every replica: decisions never race each other.
          maxInFlight: 1,
          ackWaitMs: config.ackWaitMs,
        },
        (env, msg) => snapshots.during(() => decide(env, msg.seq)),
      ),
      consume(
        {
          stream: Streams.orders,
          durable: RISK_GUARD_CANCEL_DURABLE,
          filter: subjectFilter('orderCancel'),
          contract: CancelRequestContract,
          maxInFlight: 1,
          ackWaitMs: config.ackWaitMs,
        },
        (env, msg) => snapshots.during(() => decideCancel(env, msg.seq)),
      ),
    ],
    async start() {
      market.start();
      stopWatch = await watchControls(ctx.bus, (plan, record) => {
        const initial = config.plans.find((p) => p.plan === plan)?.risk.initialState;
        if (record) controls.set(plan, record);
        else if (initial) controls.set(plan, initialControl(initial, ctx.clock.now()));
        else controls.delete(plan);
        killSwitch.set({ plan }, record?.killSwitch ? 1 : 0);
      });
      await preparePlans();
      await snapshots.restore();
      await catchUp();
      snapshots.start();
      for (const filter of [subjectFilter('orderVerdict'), subjectFilter('cancelVerdict'), subjectFilter('orderEvent')]) {
        subscriptions.push(
          ctx.bus.nc.subscribe(filter, {
            callback: (err) => {
              if (!err) bell();
            },
          }),
        );
      }
      const every = () => {
        bell();
        poll = ctx.clock.setTimeout(every, config.pollMs);
      };
      poll = ctx.clock.setTimeout(every, config.pollMs);
      ctx.log.info(
        { plans: config.plans.map((p) => p.plan), rebuiltFrom: tail.position, read: tail.read, snapshot: snapshots.status().restored?.seq },
        'risk guard ready',
      );
    },
    async reconfigure(next) {
      config = next;
      await preparePlans();
    },
    async stop() {
      ctx.clock.clearTimeout(poll);
      // The books as they are at the end, so the next start reads nothing it need not.
      await snapshots.stop();
      void tail.close();
      stopWatch?.();
      market.stop();
      for (const s of subscriptions.splice(0)) s.unsubscribe();
    },
    status: () => ({
      plans: config.plans.map((plan) =>
        planSummary(plan, ledgerOf(plan.plan), controls.get(plan.plan), marketNow(clockOf(plan), ctx.clock.now()), (inst) => ({
          price: market.price(plan.venue, inst),
          contractValue: instruments.get(plan, inst)?.contractValue,
        })),
      ),
      totals: {
        ...totals,
        byReason: { ...totals.byReason },
        cancels: { ...totals.cancels, byReason: { ...totals.cancels.byReason } },
        undecodable: books.undecodable + market.undecodable,
        unbooked: { ...books.refused },
        market: { ...market.refused },
      },
      streamPosition: tail.position,
      snapshot: snapshots.status(),
      ...(lastVerdict ? { lastVerdict } : {}),
      ...(instruments.lastError ? { instrumentError: instruments.lastError } : {}),
    }),
  };
}

export const riskGuardActor = defineActorKind<GuardConfig>({
  kind: 'risk-guard',
  description: 'checks every order intent against its plan; the only producer of order approvals',
  configSchema: guardConfigSchema,
  configFromPlans: guardConfigFromPlans,
  create: createRiskGuardLogic,
  access: (plans) => {
    const venues = [...new Set(guardConfigFromPlans(plans, guardConfigSchema.parse({})).plans.map((p) => p.executionVenue))].sort();
    return {
      publish: [
        subjectFilter('orderVerdict'),
        subjectFilter('cancelVerdict'),
        ...venues.map((venue) => subjectFilter('orderApproved', { venue })),
        ...venues.map((venue) => subjectFilter('cancelApproved', { venue })),
        `$JS.API.STREAM.MSG.GET.${Streams.orders}`,
        `$JS.API.STREAM.MSG.GET.${Streams.candles}`,
        `$JS.API.STREAM.MSG.GET.${Streams.forecasts}`,
        `$JS.API.STREAM.INFO.${Streams.candles}`,
        `$JS.API.STREAM.INFO.${Streams.forecasts}`,
        // What the books refuse is dead-lettered under a consumer name of its own.
        subject('dlq', { stream: Streams.orders, consumer: `${RISK_GUARD_DURABLE}-books` }),
      ],
      subscribe: [
        subjectFilter('orderVerdict'),
        subjectFilter('cancelVerdict'),
        subjectFilter('orderEvent'),
        subjectFilter('candle'),
        subjectFilter('forecast'),
      ],
      consume: [
        { stream: Streams.orders, durable: RISK_GUARD_DURABLE, filter: subjectFilter('orderIntent') },
        { stream: Streams.orders, durable: RISK_GUARD_CANCEL_DURABLE, filter: subjectFilter('orderCancel') },
      ],
      // Trading-control records are read and watched only: operators (kokex risk, the dashboard) write them.
      kvRead: [Buckets.risk],
      // Its books snapshot: the only kind that writes (or reads) it.
      objectStores: [ObjectStores.books],
      // The books are rebuilt and kept up through an ordered consumer on ORDERS (orders-tail.ts).
      orderedReads: [{ stream: Streams.orders, filter: 'kokex.order.>' }],
    };
  },
});
