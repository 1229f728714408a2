import { waitFor as pollFor } from '@kokex/core/testing';
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';

/** Polls until `check` returns a truthy value (core's poller, with this suite's default timeout). */
export const waitFor = <T>(check: () => T | undefined | false, timeoutMs = 3000, what = 'condition'): Promise<T> =>
  pollFor(check, timeoutMs, what);

/** A bare WebSocket peer for the simulator tests: records every frame it receives. */
export class RawWs {
  readonly frames: string[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.frames.push(d.toString()));
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  static open(url: string): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const raw = new RawWs(ws);
      ws.once('open', () => resolve(raw));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Parsed JSON frames (text frames like `pong` are skipped). */
  json(): Array<Record<string, any>> {
    return this.frames.flatMap((f) => {
      try {
        return [JSON.parse(f)];
      } catch {
        return [];
      }
    });
  }

  /** Waits for a JSON frame matching `pred` that arrived after `from` frames. */
  next(pred: (f: Record<string, any>) => boolean, from = 0, timeoutMs = 3000): Promise<Record<string, any>> {
    return waitFor(() => this.frames.slice(from).flatMap(parseOrNone).find(pred), timeoutMs, 'frame');
  }

  close(): void {
    this.ws.terminate();
  }
}

function parseOrNone(f: string): Array<Record<string, any>> {
  try {
    const v = JSON.parse(f);
    return v && typeof v === 'object' && !Array.isArray(v) ? [v] : [];
  } catch {
    return [];
  }
}

export const KEY = { apiKey: 'sim-key', secretKey: 'sim-secret', passphrase: 'sim-pass' };

/** Independent signing for the tests (neither the simulator's nor the client's code). */
export function hmac(secret: string, msg: string): string {
  return createHmac('sha256', secret).update(msg).digest('base64');
}

export function loginArgs(key = KEY, nowMs = Date.now()) {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { apiKey: key.apiKey, passphrase: key.passphrase, timestamp, sign: hmac(key.secretKey, `${timestamp}GET/users/self/verify`) };
}

/** A signed REST call with fetch. */
export async function signedFetch(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  opts: { key?: typeof KEY; demo?: boolean; timestamp?: string; tamper?: boolean } = {},
): Promise<{ status: number; body: any }> {
  const key = opts.key ?? KEY;
  const text = body === undefined ? '' : JSON.stringify(body);
  const timestamp = opts.timestamp ?? new Date().toISOString();
  const sign = hmac(key.secretKey, `${timestamp}${method}${path}${text}`);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'OK-ACCESS-KEY': key.apiKey,
    'OK-ACCESS-PASSPHRASE': key.passphrase,
    'OK-ACCESS-TIMESTAMP': timestamp,
    'OK-ACCESS-SIGN': opts.tamper ? `${sign[0] === 'A' ? 'B' : 'A'}${sign.slice(1)}` : sign,
  };
  if (opts.demo ?? true) headers['x-simulated-trading'] = '1';
  const res = await fetch(base + path, { method, headers, body: method === 'POST' ? text : undefined });
  return { status: res.status, body: await res.json() };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}
