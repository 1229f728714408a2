// WebSocket frame shapes of OKX V5 (reference §2): requests we send, frames we receive.

/** One subscription argument: `channel` plus the channel's keys. `uid` is added by OKX on pushes. */
export interface OkxWsArg {
  channel: string;
  instId?: string;
  instType?: string;
  instFamily?: string;
  ccy?: string;
  extraParams?: string;
  uid?: string;
}

export type OkxWsOp = 'subscribe' | 'unsubscribe' | 'login';

export interface OkxWsRequest {
  /** 1–32 alphanumerics, echoed in the answer. */
  id?: string;
  op: OkxWsOp;
  args: unknown[];
}

export interface OkxWsLoginArg {
  apiKey: string;
  passphrase: string;
  /** Unix seconds. */
  timestamp: string;
  sign: string;
}

/** `event` frames: subscribe/unsubscribe acks, login, error, notice, channel-conn-count. */
export interface OkxWsEventFrame {
  kind: 'event';
  event: string;
  id: string | undefined;
  arg: OkxWsArg | undefined;
  code: string | undefined;
  msg: string | undefined;
  connId: string | undefined;
  raw: Record<string, unknown>;
}

/** `{arg, data}` pushes; `eventType`/`curPage`/`lastPage` on account and positions. */
export interface OkxWsPushFrame {
  kind: 'push';
  arg: OkxWsArg;
  data: unknown[];
  eventType: string | undefined;
  curPage: number | undefined;
  lastPage: boolean | undefined;
}

export interface OkxWsTextFrame {
  kind: 'pong' | 'ping';
}

/** Anything else: not JSON, JSON of an unknown shape. Never thrown, always reported. */
export interface OkxWsMalformedFrame {
  kind: 'malformed';
  reason: string;
  text: string;
}

export type OkxWsFrame = OkxWsEventFrame | OkxWsPushFrame | OkxWsTextFrame | OkxWsMalformedFrame;

export const OkxWsEvent = {
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
  Login: 'login',
  Error: 'error',
  Notice: 'notice',
  ChannelConnCount: 'channel-conn-count',
  ChannelConnCountError: 'channel-conn-count-error',
} as const;

/** The notice OKX sends before closing a connection for a service upgrade. */
export const OKX_SERVICE_UPGRADE_CODE = '64008';
