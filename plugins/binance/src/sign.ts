import { createHmac } from 'node:crypto';

/** `hex(HMAC_SHA256(secret, payload))`: Binance's HMAC signature of `query + body`. */
export function signPayload(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

/** Plain decimal text for a number (never an exponent), as Binance wants quantities and prices. */
export function decimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${n}`);
  const fixed = n.toFixed(12);
  return fixed.replace(/0+$/, '').replace(/\.$/, '') || '0';
}

/** `a=1&b=x`, each value percent-encoded, in the given order (the order is what is signed). */
export function encodeParams(params: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
}
