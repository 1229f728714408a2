import { OkxRegion, type OkxWsEndpoint } from './enums.js';

/**
 * Hosts per region and environment. Demo REST shares the production host (the demo flag is the
 * `x-simulated-trading` header); demo WebSocket has its own host.
 */
const HOSTS: Record<OkxRegion, { rest: string; ws: string; wsDemo: string }> = {
  [OkxRegion.Global]: { rest: 'www.okx.com', ws: 'ws.okx.com', wsDemo: 'wspap.okx.com' },
  [OkxRegion.Eea]: { rest: 'eea.okx.com', ws: 'wseea.okx.com', wsDemo: 'wseeapap.okx.com' },
  [OkxRegion.Us]: { rest: 'us.okx.com', ws: 'wsus.okx.com', wsDemo: 'wsuspap.okx.com' },
};

export interface OkxUrlOptions {
  region?: OkxRegion;
  demo?: boolean;
  /** Replaces the region's host (e.g. `openapi.okx.com`, or `127.0.0.1` for the simulator). */
  host?: string;
  /**
   * Explicit port. OKX's docs (2026-07) show `:8443` for WebSocket, later sources say 8443 was
   * retired on 2026-10-31, so the default is none (the scheme's 443); set 8443 where still needed.
   */
  port?: number;
  /** `https`/`wss` unless told otherwise (the simulator speaks plain `http`/`ws`). */
  secure?: boolean;
}

export interface OkxUrls {
  rest: string;
  ws: Record<OkxWsEndpoint, string>;
}

function hostPort(host: string, port: number | undefined): string {
  return port === undefined ? host : `${host}:${port}`;
}

/** REST base URL, without a trailing slash (`https://www.okx.com`). */
export function okxRestBaseUrl(options: OkxUrlOptions = {}): string {
  const host = options.host ?? HOSTS[options.region ?? OkxRegion.Global].rest;
  return `${options.secure === false ? 'http' : 'https'}://${hostPort(host, options.port)}`;
}

/** WebSocket URL of one endpoint (`wss://ws.okx.com/ws/v5/business`). */
export function okxWsUrl(endpoint: OkxWsEndpoint, options: OkxUrlOptions = {}): string {
  const hosts = HOSTS[options.region ?? OkxRegion.Global];
  const host = options.host ?? (options.demo ? hosts.wsDemo : hosts.ws);
  return `${options.secure === false ? 'ws' : 'wss'}://${hostPort(host, options.port)}/ws/v5/${endpoint}`;
}

/** Every URL for a region/environment, with REST and WebSocket ports chosen separately. */
export function okxUrls(options: OkxUrlOptions & { restPort?: number; wsPort?: number } = {}): OkxUrls {
  const { restPort, wsPort, port, ...rest } = options;
  const ws = { ...rest, port: wsPort ?? port };
  return {
    rest: okxRestBaseUrl({ ...rest, port: restPort ?? port }),
    ws: { public: okxWsUrl('public', ws), private: okxWsUrl('private', ws), business: okxWsUrl('business', ws) },
  };
}
