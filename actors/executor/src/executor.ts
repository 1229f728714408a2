import {
  type ActorContext,
  type ActorLogic,
  AdapterPort,
  type ControlRecord,
  adapterFor,
  ApprovedCancelContract,
  ApprovedOrderContract,
  Buckets,
  consume,
  defineActorKind,
  OrderEventContract,
  Streams,
  subject,
  subjectFilter,
  Tokens,
  watchControls,
} from '@kokex/core';
import { type ExecutorConfig, type ExecutorRoute, executorConfigFromPlans, executorConfigSchema } from './config.js';
import { ExecApprovalUnverifiedError } from './errors.js';
import { rejectionOf, eventMessageId } from './events.js';
import { canTrade } from './machine.js';
import { VenueSession } from './session.js';
import { checkApproval } from './verdicts.js';

/** Reason code of the rejection that answers an approval no verdict stands behind. */
export const APPROVAL_UNVERIFIED = 'APPROVAL_UNVERIFIED';

/** Durable name of a venue's approvals: one per venue, so a slow venue never holds up another. */
export function executorDurable(venue: string): string {
  return `executor-${venue}`;
}

/** Durable name of a venue's approved cancels: apart from placements, so a cancel never waits behind them. */
export function executorCancelDurable(venue: string): string {
  return `executor-${venue}-cancels`;
}

/**
 * The executor: the only actor that talks to venues. It pulls `kokex.order.approved.{venue}.>`
 * (one durable per venue), places each order through the plan's execution adapter with the client
 * order id as idempotency key, and publishes what the venue reports on
 * `kokex.order.event.{venue}.{inst}`. Approved cancels arrive on their own durable
 * (`kokex.order.cancelapproved.{venue}.>`) and are sent to the venue as cancels. At start it reconciles its order records with the venue's
 * open orders and positions; when a plan's kill switch is thrown (`kokex-risk`, `control.{plan}`)
 * it cancels that plan's open orders and refuses approvals still on their way.
 */
export function createExecutorLogic(ctx: ActorContext<ExecutorConfig>): ActorLogic<ExecutorConfig> {
  const config = ctx.config;
  const controls = new Map<string, ControlRecord>();
  const adapters = ctx.container.resolve(Tokens.Adapters);
  const sessions = new Map<string, VenueSession>();
  const sessionOf = new Map<string, VenueSession>();
  let stopWatch: (() => void) | undefined;
  const orderEvents = ctx.metrics.counter('kokex_order_events_total', 'Order events published (accepted, fills, cancels, rejects)', [
    'venue',
    'plan',
    'inst',
    'event',
  ]);
  const refused = ctx.metrics.counter(
    'kokex_approvals_refused_total',
    'Approvals not placed because no verdict approved them as they are',
    ['venue', 'plan', 'why'],
  );
  const disagreements = ctx.metrics.counter(
    'kokex_reconcile_differences_total',
    'Differences between the venue and ORDERS found by reconciliation (position, order_unknown, order_missing, order_fill)',
    ['venue', 'plan', 'inst', 'kind'],
  );
  const reconciliations = ctx.metrics.counter('kokex_reconciliations_total', 'Reconciliations stored, by status', [
    'venue',
    'plan',
    'status',
  ]);
  let reconcileTimer: unknown;
  const filledSize = ctx.metrics.counter('kokex_fill_size_contracts_total', 'Filled size in contracts', ['venue', 'plan', 'inst', 'side']);

  const stopped = (plan: string) => {
    const c = controls.get(plan);
    return c !== undefined && (c.killSwitch || c.state === 'halted');
  };

  for (const route of config.routes) {
    // One session per adapter configuration: plans on one venue account share it. The adapter
    // itself comes from `adapterFor` (the executor's settings under what the plan derives); an
    // adapter that reads the bus (the paper venue) is lent this executor's connection.
    // The paper venue is lent the instrument rules (contract value, lot) of the plan's venue, as
    // that venue's exchange adapter lists them in the plan's mode.
    const rulesVenue = (route.adapter.config.candles as { venue?: unknown } | undefined)?.venue;
    const instrument =
      typeof rulesVenue === 'string'
        ? async (inst: string) =>
            (await adapterFor(adapters, AdapterPort.exchange, { name: rulesVenue, mode: route.mode }, config.adapters)).instrument(inst)
        : undefined;
    const target = {
      name: route.adapter.name,
      mode: route.mode,
      config: route.adapter.config,
      ...(route.adapter.bus ? { context: { bus: ctx.bus, ...(instrument ? { instrument } : {}) } } : {}),
    };
    const key = `${route.adapter.name}:${route.mode}:${JSON.stringify(route.adapter.config)}`;
    let session = sessions.get(key);
    if (!session) {
      session = new VenueSession(
        { venue: route.venue, target, plans: new Map() },
        {
          bus: ctx.bus,
          log: ctx.log,
          clock: ctx.clock,
          source: ctx.instanceId,
          adapters,
          settings: () => config.adapters,
          stopped,
          maxDeliver: () => config.maxDeliver,
          reconnectMs: () => config.reconnectMs,
          published: (e) => {
            orderEvents.inc({ venue: e.venue, plan: e.plan ?? '', inst: e.inst, event: e.kind });
            if (e.fill) filledSize.inc({ venue: e.venue, plan: e.plan ?? '', inst: e.inst, side: e.side }, e.fill.size);
          },
          reconciled: (r) => {
            reconciliations.inc({ venue: r.venue, plan: r.plan, status: r.status });
            for (const d of r.differences) disagreements.inc({ venue: r.venue, plan: r.plan, inst: r.inst, kind: d.kind });
            if (r.differences.length)
              ctx.log.warn({ plan: r.plan, inst: r.inst, differences: r.differences }, 'the venue and ORDERS disagree');
          },
        },
      );
      sessions.set(key, session);
    }
    session.spec.plans.set(route.plan, route.instruments);
    sessionOf.set(`${route.venue}|${route.plan}`, session);
  }

  const sweeps = new Map<string, number>();
  const onControl = (plan: string, control: ControlRecord | undefined) => {
    if (!control) return void controls.delete(plan);
    controls.set(plan, control);
    // Each throw of the switch is swept once (a halt repeated later sweeps again).
    if (!control.killSwitch || sweeps.get(plan) === control.at) return;
    sweeps.set(plan, control.at);
    for (const session of sessions.values()) {
      if (!session.spec.plans.has(plan) || !canTrade(session.state)) continue;
      void session.cancelPlan(plan).then(
        (asked) => ctx.log.warn({ plan, venue: session.spec.venue, asked }, 'kill switch: cancelling open orders'),
        (err: unknown) => ctx.log.error({ err, plan }, 'kill switch: cancelling failed'),
      );
    }
  };

  const followControls = async () => {
    stopWatch = await watchControls(ctx.bus, onControl);
  };

  const routeVenues = [...new Set(config.routes.map((r) => r.venue))].sort();

  return {
    consumers: routeVenues.flatMap((venue) => [
      consume(
        {
          stream: Streams.orders,
          durable: executorDurable(venue),
          filter: subjectFilter('orderApproved', { venue }),
          contract: ApprovedOrderContract,
          maxInFlight: config.maxInFlight,
          ackWaitMs: config.ackWaitMs,
          maxDeliver: config.maxDeliver,
          backoffMs: config.retryBackoffMs,
        },
        async (env, msg) => {
          const order = env.data;
          const session = sessionOf.get(`${order.venue}|${order.plan}`);
          // Only what the guard's verdict approved is placed, whoever stored the approval.
          const check = await checkApproval(ctx.bus, order, msg.seq);
          if (!check.ok) {
            refused.inc({ venue: order.venue, plan: order.plan, why: check.missing ? 'no_verdict' : 'mismatch' });
            ctx.log.warn({ ...order, reason: check.reason, deliveries: msg.info.deliveryCount }, 'approval refused: it matches no verdict');
            const known = session?.records.get(order.clientOrderId) !== undefined;
            // A verdict with other terms, or a client order id of an order this executor works: a
            // rejection would speak for the real order, so the approval is dead-lettered.
            if (!check.missing || known) throw new ExecApprovalUnverifiedError(order.clientOrderId, check.reason, false);
            if (msg.info.deliveryCount < config.maxDeliver) throw new ExecApprovalUnverifiedError(order.clientOrderId, check.reason, true);
            const event = rejectionOf(order.venue, order, `${APPROVAL_UNVERIFIED}: ${check.reason}`, ctx.clock.now());
            await ctx.bus.publish(OrderEventContract, subject('orderEvent', { venue: order.venue, inst: order.inst }), event, {
              id: eventMessageId(event),
              correlationId: env.correlationId,
              source: ctx.instanceId,
            });
            return;
          }
          if (session) return session.place(order, msg.info.deliveryCount, env.correlationId, env.eventTime);
          // An approval for a plan this executor does not route (removed since): never placed, said so.
          const event = rejectionOf(order.venue, order, `no active plan ${order.plan} on venue ${order.venue}`, ctx.clock.now());
          await ctx.bus.publish(OrderEventContract, subject('orderEvent', { venue: order.venue, inst: order.inst }), event, {
            id: eventMessageId(event),
            correlationId: env.correlationId,
            source: ctx.instanceId,
          });
        },
      ),
      consume(
        {
          stream: Streams.orders,
          durable: executorCancelDurable(venue),
          filter: subjectFilter('cancelApproved', { venue }),
          contract: ApprovedCancelContract,
          maxInFlight: config.maxInFlight,
          ackWaitMs: config.ackWaitMs,
          maxDeliver: config.maxDeliver,
          backoffMs: config.retryBackoffMs,
        },
        async (env, msg) => {
          const cancel = env.data;
          const session = sessionOf.get(`${cancel.venue}|${cancel.plan}`);
          // A plan no longer routed here has no orders this executor could cancel: nothing to do.
          if (!session) return void ctx.log.warn({ ...cancel }, 'approved cancel for a plan this executor does not route');
          await session.cancel(cancel, msg.info.deliveryCount);
        },
      ),
    ]),
    async start() {
      await followControls();
      // Each plan is RECONCILING for the guard until its first reconciliation is stored.
      for (const session of sessions.values()) await session.announce();
      for (const session of sessions.values()) session.start();
      const every = () => {
        for (const session of sessions.values()) session.reconcileSoon();
        reconcileTimer = ctx.clock.setTimeout(every, config.reconcileEveryMs);
      };
      reconcileTimer = ctx.clock.setTimeout(every, config.reconcileEveryMs);
    },
    async stop() {
      ctx.clock.clearTimeout(reconcileTimer);
      stopWatch?.();
      await Promise.all([...sessions.values()].map((s) => s.stop()));
    },
    status: () => ({
      venues: [...sessions.values()].map((s) => s.status()),
      halted: [...controls].filter(([plan]) => stopped(plan)).map(([plan]) => plan),
    }),
  };
}

export const executorActor = defineActorKind<ExecutorConfig>({
  kind: 'executor',
  description: 'places approved orders on the venues and reports what happens to them',
  configSchema: executorConfigSchema,
  configFromPlans: executorConfigFromPlans,
  create: createExecutorLogic,
  access: (plans) => {
    const routes: ExecutorRoute[] = executorConfigFromPlans(plans, executorConfigSchema.parse({})).routes;
    const venues = [...new Set(routes.map((r) => r.venue))].sort();
    const paper = routes.some((r) => r.adapter.bus);
    return {
      publish: [
        ...venues.map((venue) => subjectFilter('orderEvent', { venue })),
        // Each approval is checked against its verdict, read by direct get.
        `$JS.API.STREAM.MSG.GET.${Streams.orders}`,
        // What the venue holds against ORDERS, per plan and instrument.
        ...[...new Set(routes.map((r) => r.plan))].sort().map((plan) => subjectFilter('orderReconcile', { plan })),
        // The paper venue fills against stored candles, through this executor's connection: the
        // newest one at placement (`bus.last`), then live ones; its account is in kokex-positions.
        ...(paper ? [`$JS.API.STREAM.MSG.GET.${Streams.candles}`] : []),
      ],
      subscribe: paper ? [subjectFilter('candle')] : [],
      consume: venues.flatMap((venue) => [
        { stream: Streams.orders, durable: executorDurable(venue), filter: subjectFilter('orderApproved', { venue }) },
        { stream: Streams.orders, durable: executorCancelDurable(venue), filter: subjectFilter('cancelApproved', { venue }) },
      ]),
      // Its order records and position notes; the kill switch it only reads (an operator lifts it).
      kv: [Buckets.positions],
      kvRead: [Buckets.risk],
    };
  },
});
