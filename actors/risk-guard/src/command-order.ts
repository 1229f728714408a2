import { randomBytes } from 'node:crypto';
import {
  type Bus,
  type CommandDefinition,
  type CommandIo,
  type OrderEvent,
  OrderEventContract,
  type CancelRequest,
  CancelRequestContract,
  type CancelVerdict,
  CancelVerdictContract,
  CandleContract,
  type OrderIntent,
  OrderIntentContract,
  type OrderVerdict,
  OrderVerdictContract,
  type Plan,
  parseDuration,
  Streams,
  subject,
  subjectFilter,
} from '@kokex/core';
import { appliedPlan, CommandUsageError, num, commandArgs, withCommandBus } from './cli.js';
import { RiskNoVerdictError } from './errors.js';

const USAGE = `usage: kokex order place <plan> --side buy|sell --size N [--price P] [--inst I] [--reduce-only]
                        [--id CLIENTORDERID] [--why text] [--wait 10s] [--follow 15s]
       kokex order cancel <plan> <CLIENTORDERID> [--inst I] [--id CANCELID] [--why text] [--wait 10s] [--follow 15s]

  Publishes a manual order intent on kokex.order.intent.<plan>.<inst>. It passes the risk guard like
  any other: the verdict is printed with its reason code, and for an approved order the order events
  that follow (accepted, fills, cancel, reject) until the order is done or --follow runs out.
  --price makes it a limit order, else a market order; --size is in the venue's order unit
  (contracts for swaps). Exit 0 approved, 1 denied or rejected, 2 wrong arguments.

  cancel publishes an order.cancel request on kokex.order.cancel.<plan>.<inst>: the guard checks
  only that the order is one of the plan's live orders; the cancel verdict is printed, then the
  order's canceled event. Exit 0 approved, 1 denied.`;

const TERMINAL = new Set<OrderEvent['kind']>(['filled', 'canceled', 'rejected']);

/** 1–32 letters and digits, as OKX wants a clOrdId: `k`, the time in base 36, 12 random hex digits. */
export function newClientOrderId(now = Date.now()): string {
  return `k${now.toString(36)}${randomBytes(6).toString('hex')}`;
}

export function describeVerdict(v: OrderVerdict): string {
  const measure = v.limit !== undefined || v.value !== undefined ? `: limit ${v.limit ?? '-'}, value ${v.value ?? '-'}` : '';
  return `verdict ${v.decision.toUpperCase()} ${v.reason} (${v.rule}${measure}) ${v.message}`;
}

export function describeCancelVerdict(v: CancelVerdict): string {
  return `cancel verdict ${v.decision.toUpperCase()} ${v.reason} (${v.rule}) ${v.message}`;
}

export function describeEvent(e: OrderEvent): string {
  const parts = [`event ${e.kind.padEnd(16)}`, `${e.venue} ${e.inst} ${e.side} ${num(e.size)}`];
  if (e.price !== undefined) parts.push(`@ ${num(e.price)}`);
  parts.push(`filled ${num(e.filledSize)}`);
  if (e.avgPrice) parts.push(`avg ${num(e.avgPrice)}`);
  if (e.fill)
    parts.push(`fill ${num(e.fill.size)} @ ${num(e.fill.price)} fee ${num(e.fill.fee)}${e.fill.feeCcy ? ` ${e.fill.feeCcy}` : ''}`);
  if (e.reason) parts.push(`(${e.reason})`);
  if (e.venueOrderId) parts.push(`order ${e.venueOrderId}`);
  return parts.join(' ');
}

function duration(text: unknown, flag: string): number {
  const ms = typeof text === 'string' ? (text === '0' ? 0 : parseDuration(text)) : undefined;
  if (ms === undefined) throw new CommandUsageError(`${flag} ${String(text)} is not a duration such as 10s or 2m`, USAGE);
  return ms;
}

/** Watches the verdict and the events of one client order id, from before the intent is sent. */
function watch(bus: Bus, intent: OrderIntent) {
  let verdict: OrderVerdict | undefined;
  const events: OrderEvent[] = [];
  const seen = new Set<string>();
  let wake: () => void = () => undefined;
  const subs = [
    bus.nc.subscribe(subject('orderVerdict', { plan: intent.plan, inst: intent.inst }), {
      callback: (_err, msg) => {
        try {
          const v = OrderVerdictContract.decode(msg.data).data;
          if (v.clientOrderId === intent.clientOrderId) verdict ??= v;
        } catch {
          return;
        }
        wake();
      },
    }),
    bus.nc.subscribe(subjectFilter('orderEvent', { inst: intent.inst }), {
      callback: (_err, msg) => {
        try {
          const env = OrderEventContract.decode(msg.data);
          // A fact published twice reaches plain subscribers twice; its message id is its identity.
          if (env.data.clientOrderId === intent.clientOrderId && !seen.has(env.id)) events.push(env.data);
          seen.add(env.id);
        } catch {
          return;
        }
        wake();
      },
    }),
  ];
  /** Resolves when `done()` holds, the time is up or Ctrl-C; true when `done()` held. */
  const until = (done: () => boolean, ms: number, signal: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        wake = () => undefined;
        resolve(done());
      };
      const timer = setTimeout(finish, ms);
      signal.addEventListener('abort', finish, { once: true });
      wake = () => done() && finish();
      if (done()) finish();
    });
  const stop = () => {
    for (const s of subs) s.unsubscribe();
  };
  return { verdict: () => verdict, events, until, stop };
}

/**
 * The market time a person's order speaks for: live, now (the envelope's default); in a replay
 * (`sim`), the market time of the plan's last stored candle, since the guard judges intents on the
 * replay's clock and the wall clock is months or years away from it.
 */
async function marketTimeOf(bus: Bus, plan: Plan): Promise<number | undefined> {
  if (plan.spec.venue.mode !== 'sim') return undefined;
  const key = { venue: plan.spec.venue.name, inst: plan.spec.instrument, tf: plan.spec.timeframe };
  const last = await bus.last(subject('candle', key), Streams.candles).catch(() => undefined);
  if (!last) return undefined;
  try {
    return CandleContract.decode(last.data).eventTime;
  } catch {
    return undefined;
  }
}

async function place(bus: Bus, intent: OrderIntent, waitMs: number, followMs: number, io: CommandIo, eventTime?: number): Promise<number> {
  const watcher = watch(bus, intent);
  try {
    await bus.nc.flush();
    await bus.publish(OrderIntentContract, subject('orderIntent', { plan: intent.plan, inst: intent.inst }), intent, {
      id: `intent:${intent.clientOrderId}`,
      source: 'kokex-cli',
      ...(eventTime !== undefined ? { eventTime } : {}),
    });
    io.print(
      `intent ${intent.clientOrderId}: ${intent.side} ${intent.size} ${intent.inst} ${intent.type}${intent.price ? ` @ ${intent.price}` : ''}`,
    );
    if (!(await watcher.until(() => watcher.verdict() !== undefined, waitMs, io.signal))) {
      if (io.signal.aborted) return 130;
      throw new RiskNoVerdictError(intent.clientOrderId, waitMs);
    }
    const verdict = watcher.verdict() as OrderVerdict;
    io.print(describeVerdict(verdict));
    if (verdict.decision !== 'approve') return 1;
    let shown = 0;
    const showNew = () => {
      for (; shown < watcher.events.length; shown++) io.print(describeEvent(watcher.events[shown] as OrderEvent));
      return watcher.events.some((e) => TERMINAL.has(e.kind));
    };
    const done = followMs > 0 && (await watcher.until(showNew, followMs, io.signal));
    showNew();
    if (!done && followMs > 0) io.print(`still working after ${Math.round(followMs / 1000)}s: npx kokex orders ${intent.plan}`);
    return watcher.events.some((e) => e.kind === 'rejected') ? 1 : 0;
  } finally {
    watcher.stop();
  }
}

/** Resolves once `done()` holds (checked every 50 ms), the time is up or Ctrl-C; true when `done()` held. */
async function waitFor(done: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
  for (let left = ms; !done() && left > 0 && !signal.aborted; left -= 50) await new Promise((r) => setTimeout(r, 50));
  return done();
}

async function cancel(bus: Bus, request: CancelRequest, waitMs: number, followMs: number, io: CommandIo): Promise<number> {
  let verdict: CancelVerdict | undefined;
  let canceled: OrderEvent | undefined;
  const subs = [
    bus.nc.subscribe(subject('cancelVerdict', { plan: request.plan, inst: request.inst }), {
      callback: (_err, msg) => {
        try {
          const v = CancelVerdictContract.decode(msg.data).data;
          if (v.cancelId === request.cancelId) verdict ??= v;
        } catch {
          // another version's verdict: not ours
        }
      },
    }),
    bus.nc.subscribe(subjectFilter('orderEvent', { inst: request.inst }), {
      callback: (_err, msg) => {
        try {
          const e = OrderEventContract.decode(msg.data).data;
          if (e.clientOrderId === request.clientOrderId && TERMINAL.has(e.kind)) canceled ??= e;
        } catch {
          // not ours
        }
      },
    }),
  ];
  try {
    await bus.nc.flush();
    await bus.publish(CancelRequestContract, subject('orderCancel', { plan: request.plan, inst: request.inst }), request, {
      id: `cancelrequest:${request.cancelId}`,
      source: 'kokex-cli',
    });
    io.print(`cancel ${request.cancelId}: ${request.clientOrderId} ${request.inst}`);
    if (!(await waitFor(() => verdict !== undefined, waitMs, io.signal))) {
      if (io.signal.aborted) return 130;
      throw new RiskNoVerdictError(request.cancelId, waitMs);
    }
    const v = verdict as CancelVerdict;
    io.print(describeCancelVerdict(v));
    if (v.decision !== 'approve') return 1;
    if (followMs > 0 && (await waitFor(() => canceled !== undefined, followMs, io.signal))) io.print(describeEvent(canceled as OrderEvent));
    else if (followMs > 0) io.print(`no final event yet after ${Math.round(followMs / 1000)}s: npx kokex orders ${request.plan}`);
    return 0;
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}

export const orderCommand: CommandDefinition = {
  name: 'order',
  summary: 'place a manual order intent through the risk guard',
  usage: USAGE,
  async run(args, io) {
    const parsed = commandArgs(
      args,
      {
        side: { type: 'string' },
        size: { type: 'string' },
        price: { type: 'string' },
        inst: { type: 'string' },
        'reduce-only': { type: 'boolean' },
        id: { type: 'string' },
        why: { type: 'string' },
        wait: { type: 'string', default: '10s' },
        follow: { type: 'string', default: '15s' },
      },
      USAGE,
      io,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [verb, name, target] = positionals;
    if (verb === 'cancel') {
      if (!name || !target || positionals.length !== 3)
        throw new CommandUsageError('usage: kokex order cancel <plan> <CLIENTORDERID> …', USAGE);
      const waitMs = duration(values.wait, '--wait');
      const followMs = duration(values.follow, '--follow');
      return withCommandBus(io, 'kokex-order', async (bus) => {
        const plan = await appliedPlan(bus, name);
        const request: CancelRequest = {
          plan: name,
          venue: plan.spec.venue.name,
          inst: typeof values.inst === 'string' ? values.inst : plan.spec.instrument,
          cancelId: typeof values.id === 'string' ? values.id : newClientOrderId(),
          clientOrderId: target,
          origin: {
            kind: 'manual',
            who: `cli:${io.env.USER ?? io.env.LOGNAME ?? 'unknown'}`,
            why: String(values.why ?? 'kokex order cancel'),
          },
          basis: { kind: 'manual' },
        };
        return cancel(bus, request, waitMs || 10_000, followMs, io);
      });
    }
    if (verb !== 'place' || !name || positionals.length !== 2)
      throw new CommandUsageError('usage: kokex order place|cancel <plan> …', USAGE);
    if (values.side !== 'buy' && values.side !== 'sell') throw new CommandUsageError('--side must be buy or sell', USAGE);
    const size = Number(values.size);
    if (!(size > 0)) throw new CommandUsageError(`--size must be a number above 0, found ${String(values.size)}`, USAGE);
    const price = values.price === undefined ? undefined : Number(values.price);
    if (price !== undefined && !(price > 0))
      throw new CommandUsageError(`--price must be a number above 0, found ${String(values.price)}`, USAGE);
    const waitMs = duration(values.wait, '--wait');
    const followMs = duration(values.follow, '--follow');
    return withCommandBus(io, 'kokex-order', async (bus) => {
      const plan = await appliedPlan(bus, name);
      const intent: OrderIntent = {
        plan: name,
        venue: plan.spec.venue.name,
        inst: typeof values.inst === 'string' ? values.inst : plan.spec.instrument,
        side: values.side as 'buy' | 'sell',
        size,
        type: price === undefined ? 'market' : 'limit',
        ...(price !== undefined ? { price } : {}),
        reduceOnly: values['reduce-only'] === true,
        clientOrderId: typeof values.id === 'string' ? values.id : newClientOrderId(),
        origin: {
          kind: 'manual',
          who: `cli:${io.env.USER ?? io.env.LOGNAME ?? 'unknown'}`,
          why: String(values.why ?? 'kokex order place'),
        },
        // A person decided: nothing on the bus behind it, so the guard judges it against the latest forecast.
        basis: { kind: 'manual' },
        refs: {},
      };
      return place(bus, intent, waitMs || 10_000, followMs, io, await marketTimeOf(bus, plan));
    });
  },
};
