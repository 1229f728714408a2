import type { OkxCredentials } from '../common/credentials.js';
import type { OkxWsEndpoint } from '../common/enums.js';
import { OkxClosedError, OkxCredentialsMissingError, OkxError, OkxErrorCode, OkxTimeoutError, OkxWsError } from '../errors.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { OKX_SERVICE_UPGRADE_CODE, type OkxWsArg, type OkxWsFrame } from './messages.js';
import { type OkxWsRequestResult, OkxWsSession, type OkxWsSessionOptions } from './session.js';
import { argKey } from './subscriptions.js';

export type OkxWsLifecycleEvent =
  | { type: 'connected'; connection: OkxWsConnection; connId: string | undefined }
  | { type: 'reconnected'; connection: OkxWsConnection; reason: 'dropped' | 'service-upgrade'; attempt: number }
  | { type: 'disconnected'; connection: OkxWsConnection; code: number; reason: string }
  | { type: 'notice'; connection: OkxWsConnection; code: string; msg: string }
  | { type: 'heartbeat'; connection: OkxWsConnection; kind: 'ping' | 'pong' | 'timeout' }
  | { type: 'error'; connection: OkxWsConnection; error: OkxError };

export interface OkxWsConnectionOptions
  extends Pick<OkxWsSessionOptions, 'url' | 'pingIntervalMs' | 'pongTimeoutMs' | 'requestTimeoutMs' | 'maxSubscribePayloadBytes'> {
  endpoint: OkxWsEndpoint;
  /** Log in on every (re)connect before subscribing. */
  login: boolean;
  credentials: OkxCredentials | undefined;
  reconnect: BackoffOptions;
  now: () => number;
  random: () => number;
  onFrame(frame: OkxWsFrame, connection: OkxWsConnection): void;
  onLifecycle(event: OkxWsLifecycleEvent): void;
}

let nextConnectionId = 1;

/**
 * One logical connection: the set of args it should carry, and whatever socket currently carries
 * them. Drops are followed by reconnect with jittered backoff, login, and resubscription of every
 * arg. A 64008 notice opens the replacement first and closes the old socket only once the new one
 * is logged in and subscribed (make-before-break).
 */
export class OkxWsConnection {
  readonly id = nextConnectionId++;
  private readonly desired = new Map<string, OkxWsArg>();
  private current: OkxWsSession | undefined;
  /** A session being established: the first one, a reconnect, or a 64008 replacement. */
  private candidate: OkxWsSession | undefined;
  private establishing: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempt = 0;
  private everConnected = false;
  private readonly readyWaiters = new Set<() => void>();
  /** The last refusal per arg key, so the subscribe() that asked for it can report it. */
  private readonly refusals = new Map<string, OkxWsError>();
  private readonly inflight = new Map<string, Promise<OkxWsError | undefined>>();
  private closed = false;

  constructor(private readonly options: OkxWsConnectionOptions) {
    if (options.login && !options.credentials) throw new OkxCredentialsMissingError(`${options.endpoint} WebSocket`);
  }

  get endpoint(): OkxWsEndpoint {
    return this.options.endpoint;
  }

  /** Args this connection carries or will carry (counted against the per-connection cap). */
  get size(): number {
    return this.desired.size;
  }

  get isReady(): boolean {
    return this.current?.isOpen === true;
  }

  get connId(): string | undefined {
    return this.current?.connId;
  }

  args(): OkxWsArg[] {
    return [...this.desired.values()];
  }

  /**
   * Registers args and waits until they are acknowledged. Rejects with the OKX error for args OKX
   * refused (those are dropped); on a transport failure the args stay registered and are
   * subscribed on the next reconnect.
   */
  async subscribe(args: OkxWsArg[]): Promise<void> {
    if (this.closed) throw new OkxClosedError('subscribe');
    for (const arg of args) {
      this.desired.set(argKey(arg), arg);
      this.refusals.delete(argKey(arg));
    }
    await this.sync();
    // Args refused while a (re)connect subscribed them are gone from `desired`: say so here too.
    const refused = args.filter((a) => !this.desired.has(argKey(a)) && this.refusals.has(argKey(a)));
    const first = refused[0] && this.refusals.get(argKey(refused[0]));
    if (first) throw new OkxWsError(OkxErrorCode.WsSubscribe, first.okxCode, first.message, { args: refused });
  }

  async unsubscribe(args: OkxWsArg[]): Promise<void> {
    const session = this.current;
    const live = args.filter((a) => session?.subscribedKeys.has(argKey(a)));
    for (const arg of args) this.desired.delete(argKey(arg));
    if (!session?.isOpen || live.length === 0) return;
    const result = await session.request('unsubscribe', live);
    for (const arg of result.acked) session.subscribedKeys.delete(argKey(arg));
  }

  /** Sends a raw text frame on the current socket (tests, WS trading ops). */
  send(text: string): boolean {
    return this.current?.send(text) ?? false;
  }

  /** Forces a reconnect as if the socket had dropped (for tests and operators). */
  dropForTest(): void {
    this.current?.terminate();
  }

  close(): void {
    this.closed = true;
    this.readyWaiters.clear();
    clearTimeout(this.reconnectTimer);
    this.candidate?.close(1000, 'client close');
    this.current?.close(1000, 'client close');
    this.candidate = undefined;
    this.current = undefined;
  }

  private async sync(): Promise<void> {
    if (!this.current?.isOpen) {
      if (this.establishing) await this.establishing;
      else if (this.reconnectTimer || this.candidate) await this.waitForReady();
      else {
        this.establishing = this.connectFirst();
        await this.establishing;
      }
      if (!this.current?.isOpen) throw new OkxClosedError(`${this.options.endpoint} connection not ready`);
    }
    await this.catchUp(true);
  }

  /** Subscribes desired args the current socket does not carry yet (added during a hand-over). */
  private async catchUp(throwRefused: boolean): Promise<void> {
    const session = this.current;
    if (!session?.isOpen) return;
    const missing = [...this.desired.entries()].filter(([key]) => !session.subscribedKeys.has(key)).map(([, arg]) => arg);
    if (missing.length === 0) return;
    const refused = await this.subscribeOn(session, missing);
    if (refused && throwRefused) throw refused;
    if (refused) this.options.onLifecycle({ type: 'error', connection: this, error: refused });
  }

  /** Waits for the reconnect under way; the args registered meanwhile ride along with it. */
  private waitForReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        reject(new OkxTimeoutError(`${this.options.endpoint} reconnect still under way`, { endpoint: this.options.endpoint }));
      }, this.options.requestTimeoutMs);
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.add(waiter);
    });
  }

  private async connectFirst(): Promise<void> {
    const session = this.newSession();
    this.candidate = session;
    try {
      await this.establish(session);
    } catch (err) {
      if (this.candidate === session) this.candidate = undefined;
      session.close();
      this.establishing = undefined;
      this.scheduleReconnect();
      throw err;
    }
    this.establishing = undefined;
    if (this.closed) return session.close();
    this.promote(session);
    this.options.onLifecycle({ type: 'connected', connection: this, connId: session.connId });
  }

  private newSession(): OkxWsSession {
    return new OkxWsSession({
      url: this.options.url,
      pingIntervalMs: this.options.pingIntervalMs,
      pongTimeoutMs: this.options.pongTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxSubscribePayloadBytes: this.options.maxSubscribePayloadBytes,
      onFrame: (frame, session) => this.onSessionFrame(frame, session),
      onClose: (session, code, reason) => this.onSessionClosed(session, code, reason),
      onHeartbeat: (kind) => this.options.onLifecycle({ type: 'heartbeat', connection: this, kind }),
    });
  }

  /** Open → login (when needed) → subscribe every desired arg. Throws if the socket fails. */
  private async establish(session: OkxWsSession): Promise<void> {
    await session.open();
    if (this.options.login && this.options.credentials) await session.login(this.options.credentials, this.options.now());
    const args = [...this.desired.values()];
    if (args.length === 0) return;
    const refused = await this.subscribeOn(session, args);
    if (!session.isOpen) throw new OkxClosedError(`${this.options.endpoint} resubscribe`);
    if (refused) this.options.onLifecycle({ type: 'error', connection: this, error: refused });
  }

  /** Subscribes on `session`, sharing any request already in flight for the same arg. */
  private async subscribeOn(session: OkxWsSession, args: OkxWsArg[]): Promise<OkxWsError | undefined> {
    const waits: Array<Promise<OkxWsError | undefined>> = [];
    const fresh: OkxWsArg[] = [];
    for (const arg of args) {
      const inflight = this.inflight.get(`${session.id}|${argKey(arg)}`);
      if (inflight) waits.push(inflight);
      else fresh.push(arg);
    }
    if (fresh.length > 0) {
      const request = session.request('subscribe', fresh).then((result) => {
        for (const arg of fresh) this.inflight.delete(`${session.id}|${argKey(arg)}`);
        return this.collect(session, result);
      });
      for (const arg of fresh) this.inflight.set(`${session.id}|${argKey(arg)}`, request);
      waits.push(request);
    }
    const errors = await Promise.all(waits);
    return errors.find((e) => e !== undefined);
  }

  /** Records acks; drops args OKX refused and returns one error naming them. */
  private collect(session: OkxWsSession, result: OkxWsRequestResult): OkxWsError | undefined {
    for (const arg of result.acked) session.subscribedKeys.add(argKey(arg));
    const refused = result.failed.filter((f) => f.error instanceof OkxWsError);
    for (const f of refused) {
      this.desired.delete(argKey(f.arg));
      this.refusals.set(argKey(f.arg), f.error as OkxWsError);
    }
    const first = refused[0]?.error as OkxWsError | undefined;
    if (!first) return undefined;
    return new OkxWsError(OkxErrorCode.WsSubscribe, first.okxCode, first.message, { args: refused.map((f) => f.arg) });
  }

  private promote(session: OkxWsSession): void {
    this.current = session;
    if (this.candidate === session) this.candidate = undefined;
    this.everConnected = true;
    this.reconnectAttempt = 0;
    for (const waiter of [...this.readyWaiters]) waiter();
    this.readyWaiters.clear();
    void this.catchUp(false);
  }

  private onSessionFrame(frame: OkxWsFrame, session: OkxWsSession): void {
    const isCurrent = session === this.current;
    const isStandIn = session === this.candidate && !this.current?.isOpen;
    if (frame.kind === 'event' && frame.event === 'notice') {
      this.options.onLifecycle({ type: 'notice', connection: this, code: frame.code ?? '', msg: frame.msg ?? '' });
      if (frame.code === OKX_SERVICE_UPGRADE_CODE && isCurrent) void this.makeBeforeBreak();
      return;
    }
    if (isCurrent || isStandIn) this.options.onFrame(frame, this);
  }

  /** 64008: bring up the replacement, then let go of the old socket. */
  private async makeBeforeBreak(): Promise<void> {
    if (this.candidate || this.closed) return;
    const old = this.current;
    const session = this.newSession();
    this.candidate = session;
    try {
      await this.establish(session);
      if (this.closed) return session.close();
      this.promote(session);
      old?.close(1000, 'replaced after 64008');
      this.options.onLifecycle({ type: 'reconnected', connection: this, reason: 'service-upgrade', attempt: 0 });
    } catch (err) {
      if (this.candidate === session) this.candidate = undefined;
      session.close();
      this.options.onLifecycle({ type: 'error', connection: this, error: asOkxError(err) });
      // Subscriptions are re-sent on whichever socket comes next.
      if (!this.current?.isOpen) this.scheduleReconnect();
    }
  }

  private onSessionClosed(session: OkxWsSession, code: number, reason: string): void {
    if (this.closed) return;
    if (session === this.candidate) {
      this.candidate = undefined;
      return;
    }
    if (session !== this.current) return;
    this.current = undefined;
    this.options.onLifecycle({ type: 'disconnected', connection: this, code, reason });
    // During a 64008 hand-over the replacement is already on its way.
    if (!this.candidate) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer || this.candidate || this.establishing) return;
    const delay = backoffDelay(this.reconnectAttempt, this.options.reconnect, this.options.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.closed || this.current?.isOpen) return;
    const attempt = ++this.reconnectAttempt;
    const session = this.newSession();
    this.candidate = session;
    try {
      await this.establish(session);
      if (this.closed) return session.close();
      const first = !this.everConnected;
      this.promote(session);
      this.options.onLifecycle(
        first
          ? { type: 'connected', connection: this, connId: session.connId }
          : { type: 'reconnected', connection: this, reason: 'dropped', attempt },
      );
    } catch (err) {
      if (this.candidate === session) this.candidate = undefined;
      session.close();
      this.options.onLifecycle({ type: 'error', connection: this, error: asOkxError(err) });
      this.scheduleReconnect();
    }
  }
}

function asOkxError(err: unknown): OkxError {
  if (err instanceof OkxError) return err;
  return new OkxError(OkxErrorCode.Transport, err instanceof Error ? err.message : String(err), { retryable: true, cause: err });
}
