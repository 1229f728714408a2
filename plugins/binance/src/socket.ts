import { type Clock, systemClock } from '@kokex/core';
import WebSocket from 'ws';

export interface ReconnectingSocketOptions {
  /** The URL of the next connection (asked again on every reconnect). */
  url: () => string | Promise<string>;
  onMessage: (text: string) => void;
  /** Every open after the first: what was subscribed is subscribed again by the URL. */
  onReconnected?: () => void;
  onError?: (err: unknown) => void;
  initialDelayMs: number;
  maxDelayMs: number;
  connectTimeoutMs: number;
  clock?: Clock;
}

/**
 * One WebSocket that comes back: after a close or a cut it reconnects with exponential back-off
 * (reset after a connection that stayed up), building its URL afresh each time. Ping frames are
 * answered by `ws` itself with a pong echoing the payload, as Binance requires.
 */
export class ReconnectingSocket {
  #socket: WebSocket | undefined;
  #closed = false;
  #opens = 0;
  #attempt = 0;
  #timer: unknown;
  #firstOpen: Promise<void>;
  #resolveFirst!: () => void;
  #rejectFirst!: (err: unknown) => void;
  readonly #clock: Clock;

  constructor(private readonly o: ReconnectingSocketOptions) {
    this.#clock = o.clock ?? systemClock;
    this.#firstOpen = new Promise((resolve, reject) => {
      this.#resolveFirst = resolve;
      this.#rejectFirst = reject;
    });
    this.#firstOpen.catch(() => undefined);
  }

  /** Connects; resolves on the first open, rejects if that first attempt fails (reconnecting continues). */
  start(): Promise<void> {
    void this.#connect();
    return this.#firstOpen;
  }

  get open(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    if (this.open) this.#socket?.send(text);
  }

  /** Closes this connection now; a new one (with a fresh URL) follows. */
  recycle(): void {
    this.#socket?.terminate();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    const s = this.#socket;
    this.#socket = undefined;
    if (!s || s.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.terminate();
    });
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let url: string;
    try {
      url = await this.o.url();
    } catch (err) {
      this.o.onError?.(err);
      if (this.#opens === 0) this.#rejectFirst(err);
      this.#schedule();
      return;
    }
    if (this.#closed) return;
    const ws = new WebSocket(url, { handshakeTimeout: this.o.connectTimeoutMs });
    this.#socket = ws;
    let wasOpen = false;
    ws.on('open', () => {
      wasOpen = true;
      this.#attempt = 0;
      this.#opens++;
      if (this.#opens === 1) this.#resolveFirst();
      else this.o.onReconnected?.();
    });
    ws.on('message', (data) => this.o.onMessage(data.toString()));
    ws.on('error', (err) => {
      if (!wasOpen && this.#opens === 0) this.#rejectFirst(err);
      this.o.onError?.(err);
    });
    ws.on('close', () => {
      if (this.#socket === ws) this.#socket = undefined;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = Math.min(this.o.initialDelayMs * 2 ** this.#attempt++, this.o.maxDelayMs);
    this.#timer = this.#clock.setTimeout(() => void this.#connect(), delay);
  }
}
