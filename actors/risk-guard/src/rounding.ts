/**
 * Lot and tick rounding. Sizes round down to the lot (never more than asked); limit prices round
 * to the tick away from the market (a buy down, a sell up), so rounding never makes an order more
 * aggressive. Results are cut to the step's decimals, so 0.1 + 0.2 reads as 0.3.
 */
function decimalsOf(step: number): number {
  const text = step.toString();
  const exp = /e-(\d+)$/.exec(text);
  if (exp) return Number(exp[1]);
  return text.includes('.') ? (text.split('.')[1] ?? '').length : 0;
}

function onGrid(value: number, step: number, round: (x: number) => number): number {
  // The nudge keeps 0.3 / 0.1 = 2.9999999999999996 on 3 when flooring.
  const units = round(value / step + (round === Math.floor ? 1e-9 : -1e-9));
  return Number((units * step).toFixed(decimalsOf(step)));
}

export function roundSize(size: number, lotSize: number): number {
  return lotSize > 0 ? onGrid(size, lotSize, Math.floor) : size;
}

export function roundPrice(price: number, tickSize: number, side: 'buy' | 'sell'): number {
  if (tickSize <= 0) return price;
  return onGrid(price, tickSize, side === 'buy' ? Math.floor : Math.ceil);
}
