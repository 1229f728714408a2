import { createHmac } from 'node:crypto';

/** Base64(HMAC-SHA256(secret as UTF-8, message)), the one primitive behind both OKX signatures. */
export function hmacSha256Base64(secretKey: string, message: string): string {
  return createHmac('sha256', Buffer.from(secretKey, 'utf8')).update(message, 'utf8').digest('base64');
}

/** REST timestamp: ISO-8601 UTC with milliseconds (`2020-12-08T09:08:57.715Z`). */
export function restTimestamp(nowMs: number = Date.now()): string {
  return new Date(nowMs).toISOString();
}

/** WebSocket login timestamp: whole Unix seconds; milliseconds are rejected with 60006. */
export function wsLoginTimestamp(nowMs: number = Date.now()): string {
  return Math.floor(nowMs / 1000).toString();
}

export interface RestSignInput {
  timestamp: string;
  method: string;
  /** Path plus the query string exactly as sent (`/api/v5/account/balance?ccy=BTC`). */
  requestPath: string;
  /** The exact JSON text sent, `""` for GET. */
  body?: string;
}

/** The string OKX signs for REST: timestamp + METHOD + requestPath + body. */
export function restPrehash(input: RestSignInput): string {
  return `${input.timestamp}${input.method.toUpperCase()}${input.requestPath}${input.body ?? ''}`;
}

/** `OK-ACCESS-SIGN` for one REST request. */
export function signRestRequest(secretKey: string, input: RestSignInput): string {
  return hmacSha256Base64(secretKey, restPrehash(input));
}

/** WS login sign: the method is always GET and the path always `/users/self/verify`. */
export function signWsLogin(secretKey: string, timestampSeconds: string): string {
  return hmacSha256Base64(secretKey, `${timestampSeconds}GET/users/self/verify`);
}
