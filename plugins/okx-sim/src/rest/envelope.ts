// OKX's REST answers: `{code,msg,data}` with string codes; batch-style writes carry sCode per item.

export interface RestAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function ok(data: unknown[], extra: Record<string, unknown> = {}): RestAnswer {
  return { status: 200, body: { code: '0', msg: '', data, ...extra } };
}

/** A plain error: `{code,msg,data:[]}` with the HTTP status OKX uses for that code. */
export function fail(code: string, msg: string, status = httpStatusFor(code)): RestAnswer {
  return { status, body: { code, msg, data: [] } };
}

/** A single-order write that failed: top-level "1", the reason in data[0].sCode. */
export function allFailed(item: Record<string, unknown>, extra: Record<string, unknown> = {}): RestAnswer {
  return { status: 200, body: { code: '1', msg: 'All operations failed', data: [item], ...extra } };
}

/** `inTime`/`outTime` in microseconds, as trade write endpoints report them. */
export function gatewayTimes(wallMs: number): { inTime: string; outTime: string } {
  const us = BigInt(Math.floor(wallMs)) * 1000n;
  return { inTime: String(us), outTime: String(us + 250n) };
}

function httpStatusFor(code: string): number {
  if (code === '50011' || code === '50013') return 429;
  if (code === '50001') return 503;
  if (code === '50026') return 500;
  if (/^501(0[1-9]|1\d)$/.test(code)) return 401;
  if (code === '51000' || code === '50014' || code === '50002') return 400;
  return 200;
}
