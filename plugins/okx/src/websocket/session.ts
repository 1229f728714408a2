import WebSocket from 'ws';
import type { OkxCredentials } from '../common/credentials.js';
import { signWsLogin, wsLoginTimestamp } from '../common/sign.js';
import { OkxClosedError, OkxErrorCode, OkxTimeoutError, OkxTransportError, OkxWsError } from '../errors.js';
import { classifyWsFrame } from './handler.js';
import type { OkxWsArg, OkxWsEventFrame, OkxWsFrame, OkxWsOp } from './messages.js';
import { argKey, packRequests } from './subscriptions.js';

export interface OkxWsSessionOptions {
  url: string;
  /** Send `ping` after this long without any received message (OKX: < 30 s). */
  pingIntervalMs: number;
  /** Give up on the socket when nothing (not even `pong`) arrives this long after a ping. */
  pongTimeoutMs: number;
  /** Wait for acks/login this long. */
  requestTimeoutMs: number;
  maxSubscribePayloadBytes: number;
  onFrame(frame: OkxWsFrame, session: OkxWsSession): void;
  onClose(session: OkxWsSession, code: number, reason: string): void;
  onHeartbeat?(kind: 'ping' | 'pong' | 'timeout', session: OkxWsSession): void;
}

export interface OkxWsRequestResult {
  acked: OkxWsArg[];
  failed: Array<{ arg: OkxWsArg; error: Error }>;
}

interface PendingRequest {
  op: OkxWsOp;
  waiting: Map<string, OkxWsArg>;
  result: OkxWsRequestResult;
  done(): void;
  timer: NodeJS.Timeout;
}

let nextSessionId = 1;
let nextRequestId = 1;

/**
 * One WebSocket to OKX: heartbeat, login, subscribe/unsubscribe with per-arg acks. It never
 * reconnects; the owning connection decides what to do when it closes.
 */
export class OkxWsSession {
  readonly id = nextSessionId++;
  connId: string | undefined;
  /** Args acknowledged on this socket (kept by the owning connection). */
  readonly subscribedKeys = new Set<string>();
  private socket: WebSocket | undefined;
  private closed = false;
  private readonly pending = new Map<string, PendingRequest>();
  private pendingLogin: { resolve(): void; reject(err: Error): void; timer: NodeJS.Timeout } | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OkxWsSessionOptions) {}

  get isOpen(): boolean {
    return !this.closed && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket; rejects on handshake failure or timeout. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.options.url, {
        handshakeTimeout: this.options.requestTimeoutMs,
        perMessageDeflate: false,
      });
      this.socket = socket;
      let opened = false;
      socket.on('open', () => {
        opened = true;
        this.armHeartbeat();
        resolve();
      });
      socket.on('message', (data) => this.onMessage(Array.isArray(data) ? Buffer.concat(data).toString() : data.toString()));
      socket.on('error', (err) => {
        if (!opened) reject(new OkxTransportError(`WebSocket ${this.options.url}: ${err.message}`, { url: this.options.url }, err));
      });
      socket.on('close', (code, reason) => {
        if (!opened)
          reject(new OkxTransportError(`WebSocket ${this.options.url} closed during handshake (${code})`, { url: this.options.url, code }));
        this.onSocketClosed(code, reason.toString());
      });
    });
  }

  /** Logs in with the HMAC of `timestamp + GET + /users/self/verify` (timestamp in seconds). */
  login(credentials: OkxCredentials, nowMs: number): Promise<void> {
    const timestamp = wsLoginTimestamp(nowMs);
    const arg = {
      apiKey: credentials.apiKey,
      passphrase: credentials.passphrase,
      timestamp,
      sign: signWsLogin(credentials.secretKey, timestamp),
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingLogin = undefined;
        reject(
          new OkxTimeoutError(`login on ${this.options.url} not answered in ${this.options.requestTimeoutMs} ms`, {
            url: this.options.url,
          }),
        );
      }, this.options.requestTimeoutMs);
      this.pendingLogin = { resolve, reject, timer };
      this.send(JSON.stringify({ op: 'login', args: [arg] }));
    });
  }

  /** Sends subscribe/unsubscribe for `args` (packed ≤ maxBytes each) and waits for every per-arg ack. */
  async request(op: 'subscribe' | 'unsubscribe', args: OkxWsArg[]): Promise<OkxWsRequestResult> {
    const requests = packRequests(op, args, this.options.maxSubscribePayloadBytes, () => `k${nextRequestId++}`);
    const results = await Promise.all(requests.map((r) => this.sendAndAwait(op, r.id as string, r.args as OkxWsArg[])));
    return { acked: results.flatMap((r) => r.acked), failed: results.flatMap((r) => r.failed) };
  }

  /** Sends a text frame; false when the socket is not open. */
  send(text: string): boolean {
    if (!this.isOpen || !this.socket) return false;
    this.socket.send(text);
    return true;
  }

  close(code = 1000, reason = 'client close'): void {
    if (this.socket && this.socket.readyState !== WebSocket.CLOSED) this.socket.close(code, reason);
    else this.onSocketClosed(code, reason);
  }

  /** Drops the socket without a close handshake (dead peer). */
  terminate(): void {
    if (this.socket) this.socket.terminate();
    else this.onSocketClosed(1006, 'terminated');
  }

  private sendAndAwait(op: OkxWsOp, id: string, args: OkxWsArg[]): Promise<OkxWsRequestResult> {
    return new Promise((resolve) => {
      const waiting = new Map(args.map((a) => [argKey(a), a] as const));
      const result: OkxWsRequestResult = { acked: [], failed: [] };
      const pending: PendingRequest = {
        op,
        waiting,
        result,
        done: () => {
          clearTimeout(pending.timer);
          this.pending.delete(id);
          resolve(result);
        },
        timer: setTimeout(() => {
          const err = new OkxTimeoutError(`${op} not acknowledged in ${this.options.requestTimeoutMs} ms`, { id });
          for (const arg of waiting.values()) result.failed.push({ arg, error: err });
          waiting.clear();
          pending.done();
        }, this.options.requestTimeoutMs),
      };
      this.pending.set(id, pending);
      if (!this.send(JSON.stringify({ id, op, args }))) {
        for (const arg of args) result.failed.push({ arg, error: new OkxClosedError(`${op} on ${this.options.url}`) });
        waiting.clear();
        pending.done();
      }
    });
  }

  private onMessage(text: string): void {
    this.armHeartbeat();
    const frame = classifyWsFrame(text);
    if (frame.kind === 'pong') {
      this.options.onHeartbeat?.('pong', this);
      return;
    }
    if (frame.kind === 'ping') {
      // OKX may ping us in text too; answer like nautilus does.
      this.send('pong');
      return;
    }
    if (frame.kind === 'event' && this.consumeEvent(frame)) return;
    this.options.onFrame(frame, this);
  }

  /** Acks, login answers and request errors are ours; true when consumed. */
  private consumeEvent(frame: OkxWsEventFrame): boolean {
    if (frame.connId) this.connId = frame.connId;
    if (frame.event === 'login' && this.pendingLogin) {
      const login = this.pendingLogin;
      this.pendingLogin = undefined;
      clearTimeout(login.timer);
      if (frame.code === undefined || frame.code === '0') login.resolve();
      else login.reject(new OkxWsError(OkxErrorCode.WsLogin, frame.code, frame.msg ?? 'login failed'));
      return true;
    }
    if (frame.event === 'subscribe' || frame.event === 'unsubscribe') {
      const pending = this.findPending(frame);
      if (!pending || !frame.arg) return pending !== undefined;
      const key = argKey(frame.arg);
      const arg = pending.waiting.get(key);
      if (arg) {
        pending.waiting.delete(key);
        pending.result.acked.push(arg);
        if (pending.waiting.size === 0) pending.done();
      }
      return true;
    }
    if (frame.event === 'error') {
      // OKX treats an error right after a login as the login's answer.
      if (this.pendingLogin && (frame.id === undefined || !this.pending.has(frame.id))) {
        const login = this.pendingLogin;
        this.pendingLogin = undefined;
        clearTimeout(login.timer);
        login.reject(new OkxWsError(OkxErrorCode.WsLogin, frame.code ?? '?', frame.msg ?? 'login failed'));
        return true;
      }
      const pending = frame.id === undefined ? undefined : this.pending.get(frame.id);
      if (!pending) return false;
      const error = new OkxWsError(OkxErrorCode.WsSubscribe, frame.code ?? '?', frame.msg ?? `${pending.op} failed`, { arg: frame.arg });
      const named = frame.arg ? pending.waiting.get(argKey(frame.arg)) : undefined;
      const failed = named ? [named] : [...pending.waiting.values()];
      for (const arg of failed) {
        pending.waiting.delete(argKey(arg));
        pending.result.failed.push({ arg, error });
      }
      if (pending.waiting.size === 0) pending.done();
      return true;
    }
    return false;
  }

  private findPending(frame: OkxWsEventFrame): PendingRequest | undefined {
    if (frame.id !== undefined) {
      const byId = this.pending.get(frame.id);
      if (byId) return byId;
    }
    if (!frame.arg) return undefined;
    const key = argKey(frame.arg);
    for (const p of this.pending.values()) if (p.op === frame.event && p.waiting.has(key)) return p;
    return undefined;
  }

  /** Restarted after every received message: ping after silence, give up after a silent ping. */
  private armHeartbeat(): void {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (this.closed) return;
    this.pingTimer = setTimeout(() => {
      if (!this.send('ping')) return;
      this.options.onHeartbeat?.('ping', this);
      this.pongTimer = setTimeout(() => {
        this.options.onHeartbeat?.('timeout', this);
        this.terminate();
      }, this.options.pongTimeoutMs);
    }, this.options.pingIntervalMs);
  }

  private onSocketClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    const closedError = new OkxClosedError(`WebSocket ${this.options.url} (${code})`);
    if (this.pendingLogin) {
      clearTimeout(this.pendingLogin.timer);
      this.pendingLogin.reject(closedError);
      this.pendingLogin = undefined;
    }
    for (const pending of [...this.pending.values()]) {
      for (const arg of pending.waiting.values()) pending.result.failed.push({ arg, error: closedError });
      pending.waiting.clear();
      pending.done();
    }
    this.options.onClose(this, code, reason);
  }
}
