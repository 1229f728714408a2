import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { type Bus, type Clock, isKokexError, type Logger, toWireError } from '@kokex/core';
import { type WebSocket, WebSocketServer } from 'ws';
import { BacktestsError, type BacktestsLibrary } from './backtests.js';
import {
  ACTOR_VERBS,
  type ActorVerb,
  actorCommand,
  applyPlanText,
  chatCommand,
  chatHistory,
  RISK_VERBS,
  type RiskVerb,
  riskCommand,
  validatePlanText,
} from './control.js';
import { DashboardErrorCode, DashboardUnauthorizedError } from './errors.js';
import { type AuditEntry, applyEvent, type DashboardEvent, type DashboardModel, emptyModel, type ModelLimits } from './model.js';

/**
 * The dashboard's HTTP face: the built web app (static files), `GET /api/model` (the model as
 * JSON), a WebSocket on `/ws` (the model on connect, then every event), and the control API under
 * `POST /api/...`. Every control action needs the token (header `x-kokex-token`); each one, allowed
 * or refused, is logged and kept in the model's audit list with who and when.
 */
export interface DashboardServerOptions {
  bus: Bus;
  log: Logger;
  clock: Clock;
  host: string;
  port: number;
  token: string;
  webDir: string;
  limits: ModelLimits;
  /** This instance (`dashboard-ab12cd34`): the page may not pause the dashboard that serves it. */
  instanceId: string;
  /** The backtest reports the backtests view lists (read only); none, and the view says so. */
  backtests?: BacktestsLibrary;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The page may load only what it was served: no CDN, no network (checked by the browser test). */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'";

/** Bytes a page may have unread on its socket before it is dropped. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

function sameToken(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage, limit = 512 * 1024): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, DashboardErrorCode.BadRequest, `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, DashboardErrorCode.BadRequest, 'the request body must be a JSON object');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

export class DashboardServer {
  readonly model: DashboardModel = emptyModel();
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #clients = new Set<WebSocket>();
  #events = 0;
  #actions = 0;

  constructor(private readonly o: DashboardServerOptions) {}

  get clients(): number {
    return this.#clients.size;
  }

  get stats(): { events: number; actions: number; clients: number } {
    return { events: this.#events, actions: this.#actions, clients: this.#clients.size };
  }

  /** Applies an event to the model and sends it to every page. */
  push(event: DashboardEvent): void {
    applyEvent(this.model, event, this.o.limits);
    this.#events++;
    if (this.#clients.size === 0) return;
    const text = JSON.stringify({ type: 'event', event });
    for (const ws of this.#clients) {
      if (ws.readyState !== ws.OPEN) continue;
      // A page that cannot keep up is dropped; it reconnects and starts again from a snapshot.
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.terminate();
        this.#clients.delete(ws);
        continue;
      }
      ws.send(text);
    }
  }

  async listen(): Promise<{ url: string; port: number }> {
    const server = createServer((req, res) => void this.#handle(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/ws') || !this.#sameOrigin(req)) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.#clients.add(ws);
        ws.on('close', () => this.#clients.delete(ws));
        ws.on('error', () => this.#clients.delete(ws));
        // The hosts' clock, not the browser's: heartbeat ages on the page are measured against it.
        ws.send(JSON.stringify({ type: 'snapshot', model: this.model, limits: this.o.limits, serverTime: this.o.clock.now() }));
      });
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', fail);
        ok();
      });
    });
    this.#server = server;
    this.#wss = wss;
    const port = (server.address() as AddressInfo).port;
    const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return { url: `http://${host}:${port}/`, port };
  }

  async close(): Promise<void> {
    for (const ws of this.#clients) ws.terminate();
    this.#clients.clear();
    this.#wss?.close();
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  }

  /** Pages of other origins may not open the socket or post (a browser sends Origin on both). */
  #sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  #audit(entry: Omit<AuditEntry, 'at'>): void {
    const full = { at: this.o.clock.now(), ...entry };
    this.#actions++;
    const line = `${entry.action} ${entry.target} by ${entry.who}: ${entry.ok ? 'done' : 'refused'}${entry.message ? ` (${entry.message})` : ''}`;
    if (entry.ok) this.o.log.info({ audit: full }, `dashboard control: ${line}`);
    else this.o.log.warn({ audit: full }, `dashboard control: ${line}`);
    this.push({ t: 'audit', entry: full });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    try {
      if (req.method === 'GET' && url.pathname === '/api/model') return send(res, 200, this.model);
      if (req.method === 'GET' && url.pathname === '/api/health') return send(res, 200, { ok: true, ...this.stats });
      // Backtest reports: read only, no token (nothing changes).
      if (req.method === 'GET' && url.pathname.startsWith('/api/backtests')) return send(res, 200, await this.#backtests(url));
      if (url.pathname.startsWith('/api/')) {
        if (req.method !== 'POST') throw new HttpError(405, DashboardErrorCode.BadRequest, `${req.method} ${url.pathname}: use POST`);
        if (!this.#sameOrigin(req)) throw new HttpError(403, DashboardErrorCode.Unauthorized, 'cross-origin request refused');
        return send(res, 200, await this.#api(url.pathname, req));
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, DashboardErrorCode.BadRequest, 'only GET here');
      return await this.#static(url.pathname, res);
    } catch (err) {
      if (err instanceof HttpError || err instanceof BacktestsError)
        return send(res, err.status, { ok: false, error: { code: err.code, message: err.message, retryable: false } });
      const wire = toWireError(err);
      const status =
        wire.code === DashboardErrorCode.Unauthorized
          ? 401
          : wire.code === DashboardErrorCode.NotFound
            ? 404
            : wire.code === DashboardErrorCode.BadRequest
              ? 400
              : isKokexError(err) && !wire.retryable
                ? 400
                : 503;
      return send(res, status, { ok: false, error: wire });
    }
  }

  /** `GET /api/backtests` (the list), `/api/backtests/report?id=…` (one report), `/api/backtests/compare?id=…&id=…`. */
  async #backtests(url: URL): Promise<Record<string, unknown>> {
    const library = this.o.backtests;
    if (!library) throw new HttpError(404, DashboardErrorCode.NotFound, 'this dashboard has no backtests directory');
    const ids = url.searchParams.getAll('id');
    switch (url.pathname) {
      case '/api/backtests':
        return { ok: true, ...(await library.list()) };
      case '/api/backtests/report': {
        const id = ids[0];
        if (!id || ids.length > 1) throw new HttpError(400, DashboardErrorCode.BadRequest, 'name one backtest: ?id=<run>');
        return { ok: true, id, report: await library.report(id) };
      }
      case '/api/backtests/compare':
        return { ok: true, comparison: await library.compare(ids) };
      default:
        throw new HttpError(404, DashboardErrorCode.NotFound, `${url.pathname} not found`);
    }
  }

  async #api(path: string, req: IncomingMessage): Promise<Record<string, unknown>> {
    const parts = path.split('/').filter(Boolean).slice(1);
    const body = await readBody(req);
    const who = `dashboard:${typeof body.who === 'string' && body.who.trim() ? body.who.trim().slice(0, 64) : 'anonymous'}@${req.socket.remoteAddress ?? '?'}`;
    const [area, a, b, c] = parts;

    // Validation changes nothing: no token needed.
    if (area === 'plans' && a === 'validate') {
      return validatePlanText(String(body.text ?? ''), String(body.file ?? 'plan.yaml'));
    }

    const action = parts.join(' ');
    const target = area === 'actors' ? `${a}.${b}` : area === 'plans' ? String(body.file ?? 'plan.yaml') : String(area === 'risk' ? b : a);
    const given = req.headers['x-kokex-token'];
    if (!sameToken(Array.isArray(given) ? given[0] : given, this.o.token)) {
      this.#audit({ who, action, target, ok: false, message: 'no valid token' });
      throw new DashboardUnauthorizedError(action);
    }
    const reason = typeof body.reason === 'string' && body.reason ? body.reason.slice(0, 200) : `dashboard ${action}`;
    try {
      let result: Record<string, unknown>;
      if (area === 'risk' && a && RISK_VERBS.includes(a as RiskVerb) && b && !c) {
        const r = await riskCommand(this.o.bus, b, a as RiskVerb, who, reason, this.o.clock.now());
        result = { ok: true, ...r };
        this.#audit({
          who,
          action,
          target,
          ok: true,
          message: r.changed
            ? `now ${r.control.state}, kill switch ${r.control.killSwitch ? 'thrown' : 'down'}`
            : `unchanged (${r.control.state})`,
        });
      } else if (area === 'actors' && a === 'dashboard' && b === this.o.instanceId && c === 'pause') {
        // Paused, this instance would stop serving the page that asked, and nothing could resume it from there.
        throw new HttpError(
          409,
          DashboardErrorCode.BadRequest,
          'this dashboard serves the page: pause it from another dashboard or the control endpoint',
        );
      } else if (area === 'actors' && a && b && c && ACTOR_VERBS.includes(c as ActorVerb)) {
        result = { ok: true, reply: await actorCommand(this.o.bus, a, b, c as ActorVerb) };
        this.#audit({ who, action, target, ok: true, message: '' });
      } else if (area === 'chat' && a && !b) {
        const message = String(body.message ?? '').trim();
        if (!message) throw new HttpError(400, DashboardErrorCode.BadRequest, 'chat needs a message');
        const conversation =
          typeof body.conversation === 'string' && body.conversation
            ? body.conversation
            : `dash-${this.o.clock.now().toString(36)}-${randomBytes(3).toString('hex')}`;
        this.#audit({ who, action, target, ok: true, message: `conversation ${conversation}` });
        result = { ...(await chatCommand(this.o.bus, a, conversation, message.slice(0, 8000), chatHistory(body.history))) };
      } else if (area === 'plans' && a === 'apply') {
        const r = await applyPlanText(this.o.bus, String(body.text ?? ''), String(body.file ?? 'plan.yaml'), who);
        result = r;
        this.#audit({
          who,
          action,
          target,
          ok: r.ok,
          message: r.ok ? r.results.map((x) => `${x.name} ${x.action} r${x.revision}`).join(', ') : `${r.issues.length} issue(s)`,
        });
      } else {
        throw new HttpError(404, DashboardErrorCode.BadRequest, `unknown control ${path}`);
      }
      return result;
    } catch (err) {
      if (!(err instanceof HttpError)) this.#audit({ who, action, target, ok: false, message: (err as Error).message });
      throw err;
    }
  }

  async #static(pathname: string, res: ServerResponse): Promise<void> {
    const root = resolve(this.o.webDir);
    const rel = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
    let file = resolve(root, rel || 'index.html');
    if (file !== root && !file.startsWith(root + sep)) throw new HttpError(403, DashboardErrorCode.BadRequest, 'outside the web app');
    const info = await stat(file).catch(() => undefined);
    // Unknown paths get the app (it has one page); assets that are missing are a 404.
    if (!info || info.isDirectory()) {
      if (extname(file)) throw new HttpError(404, DashboardErrorCode.NotFound, `${pathname} not found`);
      file = join(root, 'index.html');
    }
    const bytes = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': file.endsWith('index.html') ? 'no-store' : 'max-age=3600',
    });
    res.end(bytes);
  }
}
