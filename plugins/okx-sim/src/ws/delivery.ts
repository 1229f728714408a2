import type WebSocket from 'ws';
import type { SimCredential } from '../auth.js';
import type { SimContext } from '../context.js';
import type { ChannelKind, SimArg, SimEndpoint } from './channels.js';

/** One client socket as the gateway sees it. */
export interface SimConn {
  id: number;
  /** OKX-style 8-hex connection id, echoed in events. */
  connId: string;
  ws: WebSocket;
  endpoint: SimEndpoint;
  credential: Required<SimCredential> | undefined;
  subs: Map<string, { arg: SimArg; kind: ChannelKind; tf?: string }>;
  lastRecvAt: number;
  lastSendAt: number;
  /** Reorder fault: one held-back push per stream, sent after the stream's next push. */
  held: Map<string, string>;
  /** subscribe/unsubscribe/login ops in the current hour (OKX: 480 per connection). */
  ops: { count: number; since: number };
  closed: boolean;
}

/** Sends a control frame (acks, errors, notices): never subject to faults. */
export function sendControl(ctx: SimContext, conn: SimConn, frame: unknown): void {
  sendText(ctx, conn, typeof frame === 'string' ? frame : JSON.stringify(frame));
}

function sendText(ctx: SimContext, conn: SimConn, text: string): void {
  if (conn.closed || conn.ws.readyState !== conn.ws.OPEN) return;
  conn.ws.send(text);
  conn.lastSendAt = ctx.wallNow();
}

/**
 * Sends a data push through the fault switches: maybe a garbled frame first, maybe not at all,
 * maybe held back until the same stream's next push (reorder), maybe twice.
 */
export function deliverPush(ctx: SimContext, conn: SimConn, frame: unknown, stream: string, faultable: boolean): void {
  const text = JSON.stringify(frame);
  const faults = ctx.faults.faults;
  if (!faultable) {
    sendText(ctx, conn, text);
    ctx.stats.pushesSent++;
    return;
  }
  if (ctx.faults.roll(faults.malformedFrames)) {
    sendText(ctx, conn, ctx.faults.garble(text));
    ctx.stats.malformedSent++;
  }
  if (ctx.faults.roll(faults.skipPushes)) {
    ctx.stats.pushesSkipped++;
    return;
  }
  const held = conn.held.get(stream);
  if (held === undefined && ctx.faults.roll(faults.reorderPushes)) {
    conn.held.set(stream, text);
    ctx.stats.pushesReordered++;
    return;
  }
  sendText(ctx, conn, text);
  ctx.stats.pushesSent++;
  if (ctx.faults.roll(faults.duplicatePushes)) {
    sendText(ctx, conn, text);
    ctx.stats.pushesDuplicated++;
  }
  if (held !== undefined) {
    conn.held.delete(stream);
    sendText(ctx, conn, held);
    ctx.stats.pushesSent++;
  }
}

/** Sends everything held back (when a stream ends, so reordering never turns into loss). */
export function flushHeld(ctx: SimContext, conn: SimConn): void {
  for (const text of conn.held.values()) {
    sendText(ctx, conn, text);
    ctx.stats.pushesSent++;
  }
  conn.held.clear();
}
