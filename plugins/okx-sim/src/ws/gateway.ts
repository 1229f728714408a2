import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { SimContext } from '../context.js';
import { CandleStream, candleRow } from '../market/candle-stream.js';
import { tickerFor } from '../market/ticker.js';
import { balanceOf } from '../rest/trade-routes.js';
import { orderToOkx, positionToOkx } from '../trading/format.js';
import type { SimFill, SimOrder } from '../trading/model.js';
import { argMatches, checkArg, type SimArg, type SimEndpoint, simArgKey } from './channels.js';
import { deliverPush, flushHeld, type SimConn, sendControl } from './delivery.js';

const OPS_PER_HOUR = 480;
const HOUR_MS = 3_600_000;
const ENDPOINTS = new Set<SimEndpoint>(['public', 'private', 'business']);

export interface ConnFilter {
  endpoint?: SimEndpoint;
}

/**
 * The three WebSocket endpoints. Serves text ping/pong, login, subscribe/unsubscribe with OKX's
 * routing rules and per-arg acks, candle and ticker pushes after every replay step, and the
 * private orders/positions/account channels from the trading engine. Faults apply on the way out.
 */
export class WsGateway {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly conns = new Set<SimConn>();
  private readonly candles = new Map<string, { instId: string; tf: string; stream: CandleStream; conns: Set<SimConn> }>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: SimContext) {
    ctx.engine.listen({
      onOrder: (order, fill) => this.pushOrder(order, fill),
      onBalance: (uid, ccys) => this.pushAccount(uid, ccys),
      onPosition: (uid, instIds) => this.pushPositions(uid, instIds),
    });
    if (ctx.idleTimeoutMs > 0) {
      this.idleTimer = setInterval(() => this.closeIdle(), Math.min(1000, ctx.idleTimeoutMs));
      this.idleTimer.unref();
    }
  }

  /** Accepts upgrades on /ws/v5/{public,private,business}; the query string is ignored. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    const endpoint = path.replace(/^\/ws\/v5\//, '') as SimEndpoint;
    if (!path.startsWith('/ws/v5/') || !ENDPOINTS.has(endpoint)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, endpoint));
  }

  connections(): Array<{ id: number; connId: string; endpoint: SimEndpoint; loggedIn: boolean; subscriptions: number }> {
    return [...this.conns].map((c) => ({
      id: c.id,
      connId: c.connId,
      endpoint: c.endpoint,
      loggedIn: !!c.credential,
      subscriptions: c.subs.size,
    }));
  }

  /** After the replay advanced one step: scheduled faults, then candle and ticker pushes. */
  afterStep(): void {
    const { cursor, faults } = this.ctx;
    const f = faults.faults;
    if (cursor.sub === 0 && cursor.index > 0 && !cursor.ended) {
      if (f.dropEveryBars > 0 && cursor.index % f.dropEveryBars === 0) this.drop();
      if (f.noticeEveryBars > 0 && cursor.index % f.noticeEveryBars === 0) this.sendNotice();
    }
    for (const [key, entry] of this.candles) {
      const rows = entry.stream.afterStep();
      const ctVal = Number(this.ctx.engine.instruments.get(entry.instId)?.ctVal ?? 0) || undefined;
      const arg = { channel: `candle${entry.tf}`, instId: entry.instId };
      for (const conn of entry.conns) {
        if (rows.closed) deliverPush(this.ctx, conn, { arg, data: [candleRow(rows.closed, true, ctVal)] }, `${key}|1`, true);
        if (rows.forming) deliverPush(this.ctx, conn, { arg, data: [candleRow(rows.forming, false, ctVal)] }, `${key}|0`, true);
      }
    }
    if (!cursor.ended) {
      for (const conn of this.conns) {
        for (const { kind, arg } of conn.subs.values()) {
          const inst = kind === 'tickers' && arg.instId ? this.ctx.engine.instruments.get(arg.instId) : undefined;
          if (inst)
            deliverPush(
              this.ctx,
              conn,
              { arg: { channel: 'tickers', instId: inst.instId }, data: [tickerFor(this.ctx, inst)] },
              `tickers|${inst.instId}`,
              true,
            );
        }
      }
    } else {
      for (const conn of this.conns) flushHeld(this.ctx, conn);
    }
  }

  /** 64008 to every matching socket, then a server close once `graceMs` has passed. */
  sendNotice(filter: ConnFilter = {}, graceMs = this.ctx.faults.faults.noticeGraceMs): number {
    const targets = [...this.conns].filter((c) => !filter.endpoint || c.endpoint === filter.endpoint);
    for (const conn of targets) {
      this.ctx.stats.notices++;
      sendControl(this.ctx, conn, {
        event: 'notice',
        code: '64008',
        msg: 'The connection will soon be closed for a service upgrade. Please reconnect.',
        connId: conn.connId,
      });
      const timer = setTimeout(() => conn.ws.close(1001, 'service upgrade'), graceMs);
      timer.unref();
    }
    return targets.length;
  }

  /** Cuts matching sockets without a close handshake, like a network failure. */
  drop(filter: ConnFilter = {}): number {
    const targets = [...this.conns].filter((c) => !filter.endpoint || c.endpoint === filter.endpoint);
    for (const conn of targets) {
      this.ctx.stats.drops++;
      conn.ws.terminate();
    }
    return targets.length;
  }

  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    for (const conn of this.conns) conn.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket, endpoint: SimEndpoint): void {
    const now = this.ctx.wallNow();
    const conn: SimConn = {
      id: this.nextId++,
      connId: randomBytes(4).toString('hex'),
      ws,
      endpoint,
      credential: undefined,
      subs: new Map(),
      lastRecvAt: now,
      lastSendAt: now,
      held: new Map(),
      ops: { count: 0, since: now },
      closed: false,
    };
    this.conns.add(conn);
    this.ctx.stats.wsConnections++;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(conn, isBinary ? data.toString('utf8') : data.toString()));
    ws.on('close', () => this.forget(conn));
    ws.on('error', () => this.forget(conn));
  }

  private forget(conn: SimConn): void {
    conn.closed = true;
    this.conns.delete(conn);
    for (const [key, entry] of this.candles) {
      entry.conns.delete(conn);
      if (entry.conns.size === 0) this.candles.delete(key);
    }
  }

  private onMessage(conn: SimConn, text: string): void {
    const { ctx } = this;
    conn.lastRecvAt = ctx.wallNow();
    ctx.stats.wsMessagesIn++;
    if (text === 'ping') {
      if (ctx.faults.faults.dropPongs) ctx.stats.pingsIgnored++;
      else {
        ctx.stats.pingsAnswered++;
        sendControl(ctx, conn, 'pong');
      }
      return;
    }
    let msg: { id?: unknown; op?: unknown; args?: unknown };
    try {
      msg = JSON.parse(text);
      if (msg === null || typeof msg !== 'object') throw new Error('not an object');
    } catch {
      sendControl(ctx, conn, { event: 'error', code: '60012', msg: `Invalid request: ${text.slice(0, 200)}`, connId: conn.connId });
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const reply = (frame: Record<string, unknown>) => sendControl(ctx, conn, { ...(id ? { id } : {}), ...frame, connId: conn.connId });
    if (msg.op !== 'login' && msg.op !== 'subscribe' && msg.op !== 'unsubscribe') {
      reply({ event: 'error', code: '60019', msg: `Invalid op: ${String(msg.op)}` });
      return;
    }
    if (!this.countOp(conn)) {
      reply({ event: 'error', code: '60014', msg: 'Requests too frequent.' });
      return;
    }
    if (!Array.isArray(msg.args) || msg.args.length === 0) {
      reply({ event: 'error', code: '60012', msg: `Invalid request: ${text.slice(0, 200)}` });
      return;
    }
    if (msg.op === 'login') {
      this.onLogin(conn, msg.args[0], reply);
      return;
    }
    for (const raw of msg.args) {
      if (msg.op === 'subscribe') this.onSubscribe(conn, raw, reply);
      else this.onUnsubscribe(conn, raw, reply);
    }
  }

  private countOp(conn: SimConn): boolean {
    const now = this.ctx.wallNow();
    if (now - conn.ops.since > HOUR_MS) conn.ops = { count: 0, since: now };
    conn.ops.count++;
    return conn.ops.count <= OPS_PER_HOUR;
  }

  private onLogin(conn: SimConn, arg: unknown, reply: (f: Record<string, unknown>) => void): void {
    if (conn.credential) {
      this.ctx.stats.loginFailures++;
      reply({ event: 'error', code: '60031', msg: 'Multiple or repeated logins are not allowed.' });
      return;
    }
    const result = this.ctx.auth.verifyWsLogin(arg, this.ctx.wsDemo);
    if (!result.ok) {
      this.ctx.stats.loginFailures++;
      reply({ event: 'error', code: result.code, msg: result.msg });
      return;
    }
    conn.credential = result.credential;
    this.ctx.stats.logins++;
    reply({ event: 'login', code: '0', msg: '' });
  }

  private onSubscribe(conn: SimConn, raw: unknown, reply: (f: Record<string, unknown>) => void): void {
    const check = checkArg(this.ctx, conn.endpoint, !!conn.credential, raw);
    if (!check.ok) {
      reply({ event: 'error', code: check.code, msg: check.msg, ...(isObject(raw) ? { arg: raw } : {}) });
      return;
    }
    const key = simArgKey(check.arg);
    const fresh = !conn.subs.has(key);
    conn.subs.set(key, { arg: check.arg, kind: check.kind, tf: check.tf });
    reply({ event: 'subscribe', arg: check.arg });
    if (check.kind === 'candle' && check.tf && check.arg.instId) {
      const streamKey = `${check.arg.instId}|${check.tf}`;
      let entry = this.candles.get(streamKey);
      if (!entry) {
        entry = { instId: check.arg.instId, tf: check.tf, stream: new CandleStream(check.tf, this.ctx.cursor), conns: new Set() };
        this.candles.set(streamKey, entry);
      }
      entry.conns.add(conn);
      // OKX pushes the current bar right after a subscribe.
      const forming = entry.stream.current();
      const ctVal = Number(this.ctx.engine.instruments.get(entry.instId)?.ctVal ?? 0) || undefined;
      if (forming) deliverPush(this.ctx, conn, { arg: check.arg, data: [candleRow(forming, false, ctVal)] }, `${streamKey}|0`, false);
      return;
    }
    if (check.kind === 'orders' || check.kind === 'positions' || check.kind === 'account') {
      if (fresh) this.sendConnCount(conn, check.kind);
      if (check.kind === 'positions') this.pushPositionSnapshot(conn, check.arg);
      if (check.kind === 'account') this.pushAccountSnapshot(conn, check.arg);
    }
  }

  private onUnsubscribe(conn: SimConn, raw: unknown, reply: (f: Record<string, unknown>) => void): void {
    if (!isObject(raw) || typeof raw.channel !== 'string') {
      reply({ event: 'error', code: '60012', msg: 'Invalid request' });
      return;
    }
    const arg = raw as unknown as SimArg;
    conn.subs.delete(simArgKey(arg));
    if (arg.channel.startsWith('candle') && arg.instId) {
      const key = `${arg.instId}|${arg.channel.slice('candle'.length)}`;
      const entry = this.candles.get(key);
      entry?.conns.delete(conn);
      if (entry && entry.conns.size === 0) this.candles.delete(key);
    }
    reply({ event: 'unsubscribe', arg });
  }

  private sendConnCount(conn: SimConn, channel: string): void {
    const uid = conn.credential?.uid;
    const count = [...this.conns].filter((c) => c.credential?.uid === uid && [...c.subs.values()].some((s) => s.kind === channel)).length;
    sendControl(this.ctx, conn, { event: 'channel-conn-count', channel, connCount: String(count), connId: conn.connId });
  }

  private privateSubs(uid: string, kind: 'orders' | 'positions' | 'account'): Array<{ conn: SimConn; arg: SimArg }> {
    const out: Array<{ conn: SimConn; arg: SimArg }> = [];
    for (const conn of this.conns) {
      if (conn.credential?.uid !== uid) continue;
      for (const sub of conn.subs.values()) if (sub.kind === kind) out.push({ conn, arg: sub.arg });
    }
    return out;
  }

  private pushOrder(order: SimOrder, fill: SimFill | undefined): void {
    const faultable = this.ctx.faults.faults.privateChannels;
    for (const { conn, arg } of this.privateSubs(order.uid, 'orders')) {
      if (!argMatches(arg, order.instType, order.instId)) continue;
      const frame = { arg: { ...arg, uid: order.uid }, data: [orderToOkx(order, 'ws', fill)] };
      deliverPush(this.ctx, conn, frame, `orders|${simArgKey(arg)}`, faultable);
    }
  }

  private pushAccount(uid: string, ccys: string[]): void {
    const account = this.ctx.engine.account(uid);
    if (!account) return;
    for (const { conn, arg } of this.privateSubs(uid, 'account')) {
      const wanted = arg.ccy ? ccys.filter((c) => c === arg.ccy) : ccys;
      if (wanted.length === 0) continue;
      const frame = { arg: { ...arg, uid }, eventType: 'event_update', data: [balanceOf(this.ctx, account, wanted)] };
      deliverPush(this.ctx, conn, frame, `account|${simArgKey(arg)}`, this.ctx.faults.faults.privateChannels);
    }
  }

  private pushAccountSnapshot(conn: SimConn, arg: SimArg): void {
    const account = conn.credential ? this.ctx.engine.account(conn.credential.uid) : undefined;
    if (!account || !conn.credential) return;
    const data = [balanceOf(this.ctx, account, arg.ccy ? [arg.ccy] : undefined)];
    deliverPush(
      this.ctx,
      conn,
      { arg: { ...arg, uid: conn.credential.uid }, eventType: 'snapshot', curPage: 1, lastPage: true, data },
      'account',
      false,
    );
  }

  private pushPositions(uid: string, instIds: string[]): void {
    const account = this.ctx.engine.account(uid);
    if (!account) return;
    for (const { conn, arg } of this.privateSubs(uid, 'positions')) {
      const rows = instIds
        .map((id) => ({ p: account.positions.get(id), inst: this.ctx.engine.instruments.get(id) }))
        .filter((x) => x.p && x.inst && argMatches(arg, x.inst.instType, x.inst.instId))
        .map((x) =>
          positionToOkx(
            x.p as NonNullable<typeof x.p>,
            x.inst as NonNullable<typeof x.inst>,
            this.ctx.cursor.price(),
            this.ctx.cursor.now(),
          ),
        );
      if (rows.length === 0) continue;
      const frame = { arg: { ...arg, uid }, eventType: 'event_update', data: rows };
      deliverPush(this.ctx, conn, frame, `positions|${simArgKey(arg)}`, this.ctx.faults.faults.privateChannels);
    }
  }

  private pushPositionSnapshot(conn: SimConn, arg: SimArg): void {
    const account = conn.credential ? this.ctx.engine.account(conn.credential.uid) : undefined;
    if (!account || !conn.credential) return;
    const data = [...account.positions.values()]
      .filter((p) => p.pos !== 0)
      .map((p) => ({ p, inst: this.ctx.engine.instruments.get(p.instId) }))
      .filter((x) => x.inst && argMatches(arg, x.inst.instType, x.p.instId))
      .map((x) => positionToOkx(x.p, x.inst as NonNullable<typeof x.inst>, this.ctx.cursor.price(), this.ctx.cursor.now()));
    deliverPush(
      this.ctx,
      conn,
      { arg: { ...arg, uid: conn.credential.uid }, eventType: 'snapshot', curPage: 1, lastPage: true, data },
      'positions',
      false,
    );
  }

  /** OKX closes with 4004 after 30 s without traffic; which traffic counts is configurable. */
  private closeIdle(): void {
    const now = this.ctx.wallNow();
    const limit = this.ctx.idleTimeoutMs;
    for (const conn of this.conns) {
      const clientSilent = now - conn.lastRecvAt > limit;
      const serverSilent = now - conn.lastSendAt > limit;
      if (clientSilent && (this.ctx.idleRule === 'client' || serverSilent)) conn.ws.close(4004, 'No data received in 30s.');
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
