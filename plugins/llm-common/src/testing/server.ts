import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on a free loopback port that answers each request with the next scripted
 * reply: JSON, text, or a Server-Sent Events stream that can be slow, stall, end early or have its
 * socket destroyed mid-chunk. Provider tests script the provider's protocol on top of it; nothing
 * below the SDK is faked.
 */
export type SsePart =
  /** Written as it is (malformed or partial events). */
  | string
  /** One event: `event:` when named, `data:` JSON unless a string is given. */
  | { event?: string; data: unknown };

export interface JsonReply {
  status?: number;
  headers?: Record<string, string>;
  json: unknown;
  /** Wait before sending headers. */
  delayMs?: number;
}

export interface TextReply {
  status?: number;
  headers?: Record<string, string>;
  text: string;
  delayMs?: number;
}

export interface SseReply {
  status?: number;
  headers?: Record<string, string>;
  sse: SsePart[];
  delayMs?: number;
  /** Wait between parts (a slow stream). */
  gapMs?: number;
  /** Wait this long before the part at `stallAt` (a stalled stream). */
  stallMs?: number;
  stallAt?: number;
  /** After the parts: `end` closes the response normally (default), `destroy` kills the socket mid-body, `hold` keeps it open. */
  finish?: 'end' | 'destroy' | 'hold';
}

export interface HangReply {
  /** Accepts the request and never answers. */
  hang: true;
}

export type ScriptedReply = JsonReply | TextReply | SseReply | HangReply;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
}

export interface ScriptedServer {
  /** `http://127.0.0.1:{port}`. */
  url: string;
  requests: RecordedRequest[];
  /** Queues replies, answered in order; an unscripted request gets a 599 that names itself. */
  reply(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

export function ssePartText(part: SsePart): string {
  if (typeof part === 'string') return part;
  const data = typeof part.data === 'string' ? part.data : JSON.stringify(part.data);
  return `${part.event ? `event: ${part.event}\n` : ''}data: ${data}\n\n`;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function answer(reply: ScriptedReply, res: ServerResponse): Promise<void> {
  if ('hang' in reply) return;
  if (reply.delayMs) await wait(reply.delayMs);
  if (res.destroyed) return;
  if ('json' in reply || 'text' in reply) {
    const isJson = 'json' in reply;
    const body = isJson ? JSON.stringify(reply.json) : reply.text;
    res.writeHead(reply.status ?? 200, { 'content-type': isJson ? 'application/json' : 'text/plain', ...reply.headers });
    res.end(body);
    return;
  }
  res.writeHead(reply.status ?? 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...reply.headers });
  res.flushHeaders();
  for (const [i, part] of reply.sse.entries()) {
    if (res.destroyed) return;
    if (reply.stallAt === i && reply.stallMs) await wait(reply.stallMs);
    else if (i > 0 && reply.gapMs) await wait(reply.gapMs);
    res.write(ssePartText(part));
  }
  if (reply.finish === 'destroy') {
    // Let the written bytes leave first, so the client sees data and then a broken connection.
    await wait(20);
    res.socket?.destroy();
  } else if (reply.finish !== 'hold') {
    res.end();
  }
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const queue: ScriptedReply[] = [];
  const requests: RecordedRequest[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body });
      const next = queue.shift();
      if (!next) {
        res.writeHead(599, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no scripted reply for ${req.method} ${req.url}` } }));
        return;
      }
      open.add(res);
      await answer(next, res);
      // Hanging and held responses stay open until close() destroys them.
      const keepOpen = 'hang' in next || ('finish' in next && next.finish === 'hold');
      if (!keepOpen) open.delete(res);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    async close() {
      for (const res of open) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One provider test file's fixture: the scripted server, and a test key in its own environment variable. */
export interface ScriptedProviderSuite {
  /** Valid between `start` and `stop`. */
  readonly server: ScriptedServer;
  /** For beforeAll: starts the server and sets the key. */
  start(): Promise<void>;
  /** For afterAll: stops the server and unsets the key. */
  stop(): Promise<void>;
  /** For afterEach: forgets the recorded requests. */
  reset(): void;
}

export function scriptedProviderSuite(keyEnv: string, key: string): ScriptedProviderSuite {
  let server: ScriptedServer | undefined;
  return {
    get server() {
      if (!server) throw new Error('the scripted server is not started (call start() in beforeAll)');
      return server;
    },
    async start() {
      server = await startScriptedServer();
      process.env[keyEnv] = key;
    },
    async stop() {
      await server?.close();
      delete process.env[keyEnv];
    },
    reset() {
      if (server) server.requests.length = 0;
    },
  };
}
