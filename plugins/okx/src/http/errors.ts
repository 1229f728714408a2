import { asObject } from '../common/fields.js';
import { OkxApiError, OkxMalformedResponseError } from '../errors.js';

// OKX REST error codes the adapter acts on (reference §6.13), and envelope → typed error.

/** Codes where the same request may succeed later: rate limits, busy, system errors, timeouts. */
const RETRYABLE_CODES = new Set(['50001', '50004', '50011', '50013', '50026', '50061', '51149']);

/** Codes where the request may or may not have taken effect: query (by clOrdId) before retrying. */
const OUTCOME_UNKNOWN_CODES = new Set(['50004', '51149']);

export const OkxRestCode = {
  Ok: '0',
  AllFailed: '1',
  PartialSuccess: '2',
  ServiceUnavailable: '50001',
  EndpointTimeout: '50004',
  RateLimited: '50011',
  SystemBusy: '50013',
  EnvironmentMismatch: '50101',
  TimestampExpired: '50102',
  InvalidApiKey: '50111',
  InvalidSign: '50113',
  InsufficientBalance: '51008',
  ClOrdIdExists: '51016',
  CancelFailed: '51400',
  OrderNotFound: '51603',
} as const;

export function isRetryableOkxCode(code: string): boolean {
  return RETRYABLE_CODES.has(code);
}

export function isOutcomeUnknownOkxCode(code: string): boolean {
  return OUTCOME_UNKNOWN_CODES.has(code);
}

export interface OkxEnvelope {
  code: string;
  msg: string;
  data: unknown[];
}

/** Checks the `{code,msg,data}` shape; anything else is a malformed body. */
export function readEnvelope(body: unknown, context: Record<string, unknown>): OkxEnvelope {
  let o: Record<string, unknown>;
  try {
    o = asObject(body, 'envelope');
  } catch (err) {
    throw new OkxMalformedResponseError('OKX response is not a {code,msg,data} object', context, err);
  }
  const code = o.code;
  if (typeof code !== 'string' && typeof code !== 'number') {
    throw new OkxMalformedResponseError('OKX response has no code', context);
  }
  const data = o.data === undefined || o.data === null ? [] : o.data;
  if (!Array.isArray(data)) throw new OkxMalformedResponseError('OKX response data is not an array', context);
  return { code: String(code), msg: typeof o.msg === 'string' ? o.msg : '', data };
}

/**
 * The typed error for a non-zero envelope. For the batch-style codes "1"/"2" the real reason is
 * in `data[i].sCode`, so the first failing item is lifted into the error.
 */
export function apiErrorFromEnvelope(env: OkxEnvelope, httpStatus: number | undefined, path: string): OkxApiError {
  const failed = env.data.find(
    (d): d is Record<string, unknown> =>
      d !== null && typeof d === 'object' && typeof (d as { sCode?: unknown }).sCode === 'string' && (d as { sCode: string }).sCode !== '0',
  );
  const sCode = failed ? String(failed.sCode) : undefined;
  const effective = sCode ?? env.code;
  return new OkxApiError({
    okxCode: env.code,
    okxMsg: env.msg,
    sCode,
    sMsg: failed && typeof failed.sMsg === 'string' ? failed.sMsg : undefined,
    subCode: failed && typeof failed.subCode === 'string' && failed.subCode !== '' ? failed.subCode : undefined,
    httpStatus,
    path,
    retryable: isRetryableOkxCode(effective),
  });
}
