import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostMetrics } from './metrics.js';

/**
 * The small HTTP server each host runs for Prometheus and Kubernetes:
 * - `GET /metrics`: the host's registry in the Prometheus text format;
 * - `GET /healthz` (liveness): 200 while the process can do its work: the NATS connection is not
 *   closed for good and no actor has given up restarting (`gaveUp` waits for an operator; in a
 *   cluster a fresh pod is the next step). 503 otherwise;
 * - `GET /readyz` (readiness): 200 once the host has started and every actor it serves is
 *   `running`; 503 while starting, restarting, paused or draining.
 * Both health answers are JSON: `{ok, host, actors: [{kind, instance, state}], reason?}`.
 */
export interface HealthServerOptions {
  /** TCP port; 0 picks a free one (read `url` after `start`). */
  port: number;
  /** Address to bind. Default: 127.0.0.1 (pods set 0.0.0.0 so the kubelet and Prometheus reach it). */
  bind?: string;
}

/** What the health endpoints ask of the host. */
export interface HealthSource {
  hostId: string;
  started(): boolean;
  connected(): boolean;
  actors(): Array<{ kind: string; instance: string; state: string }>;
}

export interface HealthReport {
  ok: boolean;
  host: string;
  reason?: string;
  actors: Array<{ kind: string; instance: string; state: string }>;
}

/** Liveness: the process is worth keeping. */
export function liveness(source: HealthSource): HealthReport {
  const actors = source.actors();
  const base = { host: source.hostId, actors };
  if (!source.connected()) return { ...base, ok: false, reason: 'NATS connection closed' };
  const gaveUp = actors.filter((a) => a.state === 'gaveUp');
  if (gaveUp.length) return { ...base, ok: false, reason: `gave up restarting: ${gaveUp.map((a) => a.instance).join(', ')}` };
  return { ...base, ok: true };
}

/** Readiness: every actor of the host is running. */
export function readiness(source: HealthSource): HealthReport {
  const actors = source.actors();
  const base = { host: source.hostId, actors };
  if (!source.started()) return { ...base, ok: false, reason: 'host starting' };
  if (!source.connected()) return { ...base, ok: false, reason: 'NATS connection closed' };
  if (actors.length === 0) return { ...base, ok: false, reason: 'no actors' };
  const notRunning = actors.filter((a) => a.state !== 'running');
  if (notRunning.length)
    return { ...base, ok: false, reason: `not running: ${notRunning.map((a) => `${a.instance} ${a.state}`).join(', ')}` };
  return { ...base, ok: true };
}

export class HealthServer {
  #server: Server | undefined;
  #url: string | undefined;

  constructor(
    private readonly options: HealthServerOptions,
    private readonly source: HealthSource,
    private readonly metrics: HostMetrics,
  ) {}

  /** `http://bind:port` once listening. */
  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#answer(req, res));
    const bind = this.options.bind ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    this.#url = `http://${bind.includes(':') ? `[${bind}]` : bind}:${port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    try {
      if (path === '/metrics') {
        const { contentType, body } = await this.metrics.scrape();
        return send(res, 200, contentType, body);
      }
      if (path === '/healthz' || path === '/readyz') {
        const report = path === '/healthz' ? liveness(this.source) : readiness(this.source);
        return send(res, report.ok ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
      }
      return send(res, 404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
    } catch (err) {
      return send(res, 500, 'text/plain', `${(err as Error).message}\n`);
    }
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
