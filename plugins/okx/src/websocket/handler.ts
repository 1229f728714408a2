import type { OkxWsArg, OkxWsFrame } from './messages.js';

/**
 * Classifies one text frame. Pure and total: every input yields a frame, garbage becomes
 * `malformed` (never an exception), so one bad frame cannot take a connection down.
 */
export function classifyWsFrame(text: string): OkxWsFrame {
  if (text === 'pong') return { kind: 'pong' };
  if (text === 'ping') return { kind: 'ping' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'malformed', reason: 'not JSON', text: clip(text) };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { kind: 'malformed', reason: 'not a JSON object', text: clip(text) };
  }
  const o = json as Record<string, unknown>;
  if (typeof o.event === 'string') {
    return {
      kind: 'event',
      event: o.event,
      id: str(o.id),
      arg: isArg(o.arg) ? o.arg : undefined,
      code: str(o.code),
      msg: str(o.msg),
      connId: str(o.connId),
      raw: o,
    };
  }
  if (isArg(o.arg)) {
    if (!Array.isArray(o.data)) return { kind: 'malformed', reason: 'push without a data array', text: clip(text) };
    return {
      kind: 'push',
      arg: o.arg,
      data: o.data,
      eventType: str(o.eventType),
      curPage: typeof o.curPage === 'number' ? o.curPage : o.curPage === undefined ? undefined : Number(o.curPage),
      lastPage: typeof o.lastPage === 'boolean' ? o.lastPage : undefined,
    };
  }
  return { kind: 'malformed', reason: 'neither an event nor a push', text: clip(text) };
}

function isArg(v: unknown): v is OkxWsArg {
  return v !== null && typeof v === 'object' && typeof (v as { channel?: unknown }).channel === 'string';
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
