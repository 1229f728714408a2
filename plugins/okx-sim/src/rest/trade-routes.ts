import type { SimContext } from '../context.js';
import { ackItem, balanceToOkx, orderToOkx, positionToOkx } from '../trading/format.js';
import type { SimAccount } from '../trading/model.js';
import { allFailed, fail, gatewayTimes, ok, type RestAnswer } from './envelope.js';

// Trade and account endpoints, for the account of the key that signed the request.

export function placeOrderRoute(ctx: SimContext, uid: string, body: Record<string, unknown>): RestAnswer {
  const times = gatewayTimes(ctx.wallNow());
  const result = ctx.engine.place(uid, body);
  const ts = ctx.cursor.now();
  if (!result.ok) return allFailed(ackItem('', result.clOrdId, strOf(body.tag), ts, result.sCode, result.sMsg), times);
  return ok([ackItem(result.order.ordId, result.order.clOrdId, result.order.tag, ts)], times);
}

export function cancelOrderRoute(ctx: SimContext, uid: string, body: Record<string, unknown>): RestAnswer {
  const times = gatewayTimes(ctx.wallNow());
  if (!strOf(body.instId)) return fail('50014', 'Parameter instId cannot be empty');
  if (!strOf(body.ordId) && !strOf(body.clOrdId)) return fail('50014', 'Parameter ordId or clOrdId cannot be empty');
  const result = ctx.engine.cancel(uid, body);
  const ts = ctx.cursor.now();
  if (!result.ok) return allFailed({ ...ackItem(strOf(body.ordId), result.clOrdId, '', ts, result.sCode, result.sMsg) }, times);
  return ok([{ ...ackItem(result.order.ordId, result.order.clOrdId, '', ts), sMsg: '' }], times);
}

export function getOrderRoute(ctx: SimContext, uid: string, query: URLSearchParams): RestAnswer {
  const instId = query.get('instId') ?? '';
  if (!instId) return fail('50014', 'Parameter instId cannot be empty');
  if (!ctx.engine.instruments.has(instId)) return fail('51001', "Instrument ID doesn't exist");
  if (!query.get('ordId') && !query.get('clOrdId')) return fail('50014', 'Parameter ordId or clOrdId cannot be empty');
  const order = ctx.engine.find(uid, { instId, ordId: query.get('ordId') ?? '', clOrdId: query.get('clOrdId') ?? '' });
  if (!order) return fail('51603', 'Order does not exist');
  return ok([orderToOkx(order, 'rest')]);
}

export function ordersPendingRoute(ctx: SimContext, uid: string, query: URLSearchParams): RestAnswer {
  const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 100) || 100));
  const orders = ctx.engine.pending(uid, {
    instType: query.get('instType') ?? undefined,
    instId: query.get('instId') ?? undefined,
    ordType: query.get('ordType') ?? undefined,
    state: query.get('state') ?? undefined,
  });
  return ok(orders.slice(0, limit).map((o) => orderToOkx(o, 'rest')));
}

export function positionsRoute(ctx: SimContext, uid: string, query: URLSearchParams): RestAnswer {
  const account = ctx.engine.account(uid);
  if (!account) return ok([]);
  return ok(positionRows(ctx, account, query.get('instType') ?? undefined, query.get('instId') ?? undefined));
}

export function balanceRoute(ctx: SimContext, uid: string, query: URLSearchParams): RestAnswer {
  const account = ctx.engine.account(uid);
  if (!account) return ok([]);
  const ccy = query.get('ccy');
  return ok([balanceOf(ctx, account, ccy ? ccy.split(',').slice(0, 20) : undefined)]);
}

/** Open SWAP positions, newest first (spot holdings are balances, not positions). */
export function positionRows(ctx: SimContext, account: SimAccount, instType?: string, instId?: string): Array<Record<string, string>> {
  const ids = instId ? new Set(instId.split(',')) : undefined;
  return [...account.positions.values()]
    .filter((p) => p.pos !== 0 && (!ids || ids.has(p.instId)))
    .map((p) => ({ p, inst: ctx.engine.instruments.get(p.instId) }))
    .filter((x): x is { p: typeof x.p; inst: NonNullable<typeof x.inst> } => x.inst !== undefined)
    .filter(({ inst }) => !instType || instType === 'ANY' || inst.instType === instType)
    .sort((a, b) => b.p.cTime - a.p.cTime)
    .map(({ p, inst }) => positionToOkx(p, inst, ctx.cursor.price(), ctx.cursor.now()));
}

/** The balance object; `ccys` limits the details (account pushes send only what changed). */
export function balanceOf(ctx: SimContext, account: SimAccount, ccys?: string[]): Record<string, unknown> {
  const quoteCcys = new Set([...ctx.engine.instruments.values()].map((i) => i.quoteCcy || i.settleCcy));
  const priceOf = (ccy: string) => (quoteCcys.has(ccy) ? 1 : ctx.cursor.price());
  const upl = (ccy: string) => {
    let total = 0;
    for (const p of account.positions.values()) {
      const inst = ctx.engine.instruments.get(p.instId);
      if (inst?.settleCcy === ccy) total += p.pos * Number(inst.ctVal ?? 1) * (ctx.cursor.price() - p.avgPx);
    }
    return total;
  };
  return balanceToOkx(account, ctx.engine.instruments, priceOf, upl, ctx.cursor.now(), ccys);
}

function strOf(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
