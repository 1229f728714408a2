import { createHmac, timingSafeEqual } from 'node:crypto';

/** An API key the simulator accepts. `demo` keys need the demo header (REST) / demo host (WS). */
export interface SimCredential {
  apiKey: string;
  secretKey: string;
  passphrase: string;
  /** Default true: keys are Demo Trading keys, like the simulator's WS host. */
  demo?: boolean;
  /** Account id; default derived from the key. */
  uid?: string;
}

export type AuthResult = { ok: true; credential: Required<SimCredential> } | { ok: false; code: string; msg: string };

/** The simulator's own HMAC (deliberately not imported from the client, so a bug cannot hide in both). */
function sign(secret: string, message: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest('base64');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Verifies REST headers and WS logins against the configured keys, OKX's codes on failure. */
export class SimAuth {
  private readonly keys = new Map<string, Required<SimCredential>>();

  constructor(
    credentials: SimCredential[],
    private readonly wallNow: () => number,
    private readonly toleranceMs = 30_000,
  ) {
    credentials.forEach((c, i) => {
      this.keys.set(c.apiKey, { ...c, demo: c.demo ?? true, uid: c.uid ?? String(1_000_000 + i) });
    });
  }

  credentials(): Array<Required<SimCredential>> {
    return [...this.keys.values()];
  }

  /**
   * REST: four OK-ACCESS-* headers, ISO timestamp within ±30 s, sign over
   * timestamp + METHOD + path-with-query + body, environment by `x-simulated-trading`.
   */
  verifyRest(headers: Record<string, string | string[] | undefined>, method: string, requestPath: string, body: string): AuthResult {
    const h = (name: string) => {
      const v = headers[name];
      return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
    };
    const key = h('ok-access-key');
    const passphrase = h('ok-access-passphrase');
    const signature = h('ok-access-sign');
    const timestamp = h('ok-access-timestamp');
    if (!key) return { ok: false, code: '50103', msg: 'Request header "OK-ACCESS-KEY" cannot be empty.' };
    if (!passphrase) return { ok: false, code: '50104', msg: 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.' };
    if (!signature) return { ok: false, code: '50106', msg: 'Request header "OK-ACCESS-SIGN" cannot be empty.' };
    if (!timestamp) return { ok: false, code: '50107', msg: 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.' };
    const ts = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(timestamp) ? Date.parse(timestamp) : Number.NaN;
    if (Number.isNaN(ts)) return { ok: false, code: '50112', msg: 'Invalid OK-ACCESS-TIMESTAMP' };
    if (Math.abs(this.wallNow() - ts) > this.toleranceMs) return { ok: false, code: '50102', msg: 'Timestamp request expired' };
    const credential = this.keys.get(key);
    if (!credential) return { ok: false, code: '50111', msg: 'Invalid OK-ACCESS-KEY' };
    const demoRequest = h('x-simulated-trading') === '1';
    if (demoRequest !== credential.demo) return { ok: false, code: '50101', msg: 'APIKey does not match current environment.' };
    if (!sameText(passphrase, credential.passphrase))
      return { ok: false, code: '50105', msg: 'Request header "OK-ACCESS-PASSPHRASE" incorrect.' };
    const expected = sign(credential.secretKey, `${timestamp}${method.toUpperCase()}${requestPath}${body}`);
    if (!sameText(signature, expected)) return { ok: false, code: '50113', msg: 'Invalid Sign' };
    return { ok: true, credential };
  }

  /** WS login: timestamp in seconds within ±30 s, sign over timestamp + GET + /users/self/verify. */
  verifyWsLogin(arg: unknown, demoHost: boolean): AuthResult {
    const a = (arg ?? {}) as Record<string, unknown>;
    const text = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : '');
    const credential = this.keys.get(text('apiKey'));
    if (!credential) return { ok: false, code: '60005', msg: 'Invalid apiKey' };
    const timestamp = text('timestamp');
    const seconds = Number(timestamp);
    if (timestamp === '' || !Number.isFinite(seconds)) return { ok: false, code: '60004', msg: 'Invalid timestamp' };
    // Milliseconds land ~50 years away and fail here, as at OKX.
    if (Math.abs(this.wallNow() - seconds * 1000) > this.toleranceMs) return { ok: false, code: '60006', msg: 'Timestamp request expired' };
    if (credential.demo !== demoHost) return { ok: false, code: '50101', msg: 'APIKey does not match current environment.' };
    if (!sameText(text('passphrase'), credential.passphrase)) return { ok: false, code: '60024', msg: 'Wrong passphrase' };
    if (!sameText(text('sign'), sign(credential.secretKey, `${timestamp}GET/users/self/verify`))) {
      return { ok: false, code: '60007', msg: 'Invalid sign' };
    }
    return { ok: true, credential };
  }
}
