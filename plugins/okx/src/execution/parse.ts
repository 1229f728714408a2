import type { Balance, PlaceOrderRequest, Position, VenueOrder, VenueOrderState, VenueOrderUpdate } from '@kokex/core';
import { instTypeFromInstId, OkxInstType, OkxOrdType, OkxOrderState, OkxTdMode, OkxTgtCcy } from '../common/enums.js';
import type { OkxPlaceOrderParams } from '../http/models.js';
import type { OkxBalance, OkxOrder, OkxPosition } from '../types.js';

// Pure mappings between OKX's trading shapes and core's execution port. Venue shapes stop here.

/** A number as OKX wants it in a request: plain decimal text, no exponent, no float noise. */
export function okxDecimal(value: number): string {
  const fixed = value.toFixed(12);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * The place-order body for a port request. Spot trades in cash mode with sizes in the base
 * currency (also for market buys, whose OKX default is the quote currency); derivatives trade
 * cross-margined in net mode, where `reduceOnly` is honoured (OKX refuses it on cash spot).
 */
export function placeOrderParams(request: PlaceOrderRequest, tdMode: 'cross' | 'isolated' = 'cross'): OkxPlaceOrderParams {
  const spot = instTypeFromInstId(request.inst) === OkxInstType.Spot;
  return {
    instId: request.inst,
    tdMode: spot ? OkxTdMode.Cash : tdMode,
    side: request.side,
    ordType: request.type === 'market' ? OkxOrdType.Market : OkxOrdType.Limit,
    sz: okxDecimal(request.size),
    ...(request.type === 'limit' && request.price !== undefined ? { px: okxDecimal(request.price) } : {}),
    clOrdId: request.clientOrderId,
    ...(spot && request.type === 'market' ? { tgtCcy: OkxTgtCcy.Base } : {}),
    ...(!spot && request.reduceOnly ? { reduceOnly: true } : {}),
  };
}

function orderState(state: string): VenueOrderState {
  switch (state) {
    case OkxOrderState.Live:
      return 'live';
    case OkxOrderState.PartiallyFilled:
      return 'partially_filled';
    case OkxOrderState.Filled:
      return 'filled';
    default:
      // canceled and mmp_canceled; OKX has no rejected state (refusals come back as sCode).
      return 'canceled';
  }
}

/** One OKX order as the port's order. post_only, ioc and fok are limit orders with extra rules. */
export function venueOrderFromOkx(order: OkxOrder): VenueOrder {
  return {
    inst: order.instId,
    ...(order.clOrdId ? { clientOrderId: order.clOrdId } : {}),
    venueOrderId: order.ordId,
    side: order.side === 'sell' ? 'sell' : 'buy',
    type: order.ordType === OkxOrdType.Market ? 'market' : 'limit',
    ...(order.price !== undefined ? { price: order.price } : {}),
    size: order.size,
    filledSize: order.filledSize,
    ...(order.avgPrice !== undefined ? { avgPrice: order.avgPrice } : {}),
    state: orderState(order.state),
    updatedAt: order.ts,
  };
}

/**
 * An `orders` push as a port update. OKX reports fees negative when charged; the port reports
 * what was paid, so the sign flips here (a maker rebate becomes a negative fee).
 */
export function orderUpdateFromOkx(order: OkxOrder): VenueOrderUpdate {
  const fill = order.fill && order.fill.size > 0 ? order.fill : undefined;
  const reason = order.cancelSource ? `cancelSource ${order.cancelSource}` : undefined;
  return {
    order: venueOrderFromOkx(order),
    ...(fill
      ? {
          fill: {
            price: fill.price,
            size: fill.size,
            fee: -(fill.fee ?? 0),
            ...(fill.feeCcy ? { feeCcy: fill.feeCcy } : {}),
            tradeId: fill.tradeId,
          },
        }
      : {}),
    ...(reason ? { reason } : {}),
    receivedAt: order.receivedAt,
  };
}

/** Net-mode positions carry their sign; long/short mode positions get it from `posSide`. */
export function positionFromOkx(position: OkxPosition): Position {
  const size = position.posSide === 'short' ? -Math.abs(position.pos) : position.pos;
  return {
    inst: position.instId,
    size,
    avgPrice: position.avgPrice ?? 0,
    ...(position.upl !== undefined ? { unrealizedPnl: position.upl } : {}),
    updatedAt: position.ts,
  };
}

export function balancesFromOkx(balance: OkxBalance): Balance[] {
  return balance.details.map((d) => ({ ccy: d.ccy, total: d.eq, available: d.availBal ?? d.availEq ?? d.eq }));
}
