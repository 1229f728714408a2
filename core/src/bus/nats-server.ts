import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { ErrorCode, KokexError } from '../errors.js';

/**
 * Starts and stops a local `nats-server` with JetStream. Used by `kokex up` when NATS_URL is unset
 * (the embedded default) and by every integration test (each suite its own server, free port,
 * temporary store), the way nats.js tests launch real servers.
 */
export interface NatsServerOptions {
  /** Client port. Default: a free port chosen by the OS. */
  port?: number;
  /** HTTP monitoring port (`/jsz`, `/connz`, `/varz`). Default: none. */
  monitorPort?: number;
  /** JetStream store directory. Required: the store is where streams survive restarts. */
  storeDir: string;
  /** Path of the binary. Default: `nats-server` on PATH. */
  binary?: string;
  /** How long to wait for the server to accept connections. Default: 10 s. */
  startTimeoutMs?: number;
  /** Extra command-line arguments (e.g. `-c config`). */
  args?: string[];
}

export class NatsServerMissingError extends KokexError {
  constructor(binary: string) {
    super(
      ErrorCode.NatsServerMissing,
      `${binary} not found. Install it (Debian/Ubuntu: sudo apt-get install -y nats-server; elsewhere: https://github.com/nats-io/nats-server/releases) or set NATS_URL to a running server with JetStream.`,
      { data: { binary } },
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export function natsServerAvailable(binary = 'nats-server'): boolean {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0;
}

export class NatsServerProcess {
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string | undefined;
  readonly storeDir: string;
  #child: ChildProcess;
  #exited: Promise<number | null>;

  private constructor(child: ChildProcess, port: number, storeDir: string, monitorPort?: number) {
    this.#child = child;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.monitorUrl = monitorPort ? `http://127.0.0.1:${monitorPort}` : undefined;
    this.storeDir = storeDir;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(options: NatsServerOptions): Promise<NatsServerProcess> {
    const binary = options.binary ?? 'nats-server';
    if (!natsServerAvailable(binary)) throw new NatsServerMissingError(binary);
    await mkdir(options.storeDir, { recursive: true });
    const port = options.port ?? (await freePort());
    const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', options.storeDir];
    if (options.monitorPort) args.push('-m', String(options.monitorPort));
    args.push(...(options.args ?? []));
    // Own process group: a terminal's Ctrl-C reaches only us, and we stop the server after draining.
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    const server = new NatsServerProcess(child, port, options.storeDir, options.monitorPort);
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new KokexError(ErrorCode.NatsServerStart, `nats-server did not become ready on port ${port}: ${stderr.trim().slice(-500)}`));
      }, options.startTimeoutMs ?? 10_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // The server logs to stderr; this line means clients can connect.
        if (stderr.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(
          new KokexError(ErrorCode.NatsServerStart, `nats-server exited with code ${code} during start: ${stderr.trim().slice(-500)}`, {
            data: { port, storeDir: options.storeDir },
          }),
        );
      });
    });
    // Keep draining stderr so the pipe never fills and blocks the server.
    child.stderr?.removeAllListeners('data');
    child.stderr?.resume();
    return server;
  }

  /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
