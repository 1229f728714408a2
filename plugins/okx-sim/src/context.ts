import type { SimAuth } from './auth.js';
import type { FaultInjector } from './faults.js';
import type { ReplayCursor } from './market/replay.js';
import type { MarketTape } from './market/tape.js';
import type { TradingEngine } from './trading/engine.js';

/** Counters a test or the CLI can read. */
export interface SimStats {
  restRequests: number;
  restRejected: number;
  wsConnections: number;
  wsMessagesIn: number;
  pushesSent: number;
  pushesSkipped: number;
  pushesDuplicated: number;
  pushesReordered: number;
  malformedSent: number;
  pingsAnswered: number;
  pingsIgnored: number;
  drops: number;
  notices: number;
  logins: number;
  loginFailures: number;
}

export function emptyStats(): SimStats {
  return {
    restRequests: 0,
    restRejected: 0,
    wsConnections: 0,
    wsMessagesIn: 0,
    pushesSent: 0,
    pushesSkipped: 0,
    pushesDuplicated: 0,
    pushesReordered: 0,
    malformedSent: 0,
    pingsAnswered: 0,
    pingsIgnored: 0,
    drops: 0,
    notices: 0,
    logins: 0,
    loginFailures: 0,
  };
}

/** What the REST routes and the WebSocket gateway share. */
export interface SimContext {
  tape: MarketTape;
  cursor: ReplayCursor;
  engine: TradingEngine;
  auth: SimAuth;
  faults: FaultInjector;
  stats: SimStats;
  /** Real time, for signatures and idle rules (simulated time is `cursor.now()`). */
  wallNow(): number;
  /** The WebSocket side plays the demo host (`wspap`): demo keys log in, live keys get 50101. */
  wsDemo: boolean;
  /** Bars closed less than this long ago (simulated) are missing from history-candles. */
  historyLagMs: number;
  enforceRateLimits: boolean;
  /** Close a socket with 4004 after this much silence (0 = never). */
  idleTimeoutMs: number;
  /** `both`: nothing received *and* nothing pushed; `client`: nothing received. */
  idleRule: 'both' | 'client';
  /**
   * One-shot hooks per REST path, run after the answer is computed and before it is sent (tests:
   * what a venue does between answering and the answer arriving, e.g. a fill while a reply is in flight).
   */
  replyHooks: Map<string, Array<() => unknown>>;
}
