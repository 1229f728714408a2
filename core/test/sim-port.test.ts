import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimSimPort, SIM_DEFAULT_PORT } from '../src/cli/up.js';
import { AdapterRegistry, freePort, parsePlan } from '../src/index.js';

const ROOT = resolve(__dirname, '../..');
const BIN = resolve(ROOT, 'core/bin/kokex.mjs');

function simPlan(name: string, port?: number) {
  return parsePlan(
    `apiVersion: kokex/v1
kind: Plan
metadata: { name: ${name} }
spec:
  venue: { name: okx, mode: sim${port === undefined ? '' : `, sim: { port: ${port} }`} }
  instrument: BTC-USDT-SWAP
  timeframe: 1m
  risk: { maxNotional: 100, maxPositionNotional: 100, maxDailyLoss: 10 }`,
    `${name}.yaml`,
  );
}

describe('the OKX simulator port of kokex up', () => {
  let held: Server;
  let heldPort: number;
  beforeAll(async () => {
    heldPort = await freePort();
    held = createServer();
    await new Promise<void>((r) => held.listen(heldPort, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    await new Promise<void>((r) => held.close(() => r()));
  });

  it('comes from --sim-port, else the plans, else the default; 0 is a free port', async () => {
    const free = await freePort();
    expect(await claimSimPort([simPlan('a', free)], undefined)).toBe(free);
    const other = await freePort();
    expect(await claimSimPort([simPlan('a', free)], other)).toBe(other);
    const picked = await claimSimPort([simPlan('a', 0)], undefined);
    expect(picked).toBeGreaterThan(0);
    expect(picked).not.toBe(SIM_DEFAULT_PORT);
    await expect(claimSimPort([simPlan('a', free), simPlan('b', other)], undefined)).rejects.toThrow(/different simulator ports/);
  });

  it('is refused when another process holds it, naming the port and the fix', async () => {
    await expect(claimSimPort([simPlan('a')], heldPort)).rejects.toMatchObject({
      code: 'KOKEX_SIM_PORT',
      message: expect.stringContaining(`port ${heldPort} is in use`),
    });
  });

  it('makes kokex up fail with one line before it starts a server', async () => {
    const home = await mkdtemp(join(tmpdir(), 'kokex-simport-'));
    try {
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [BIN, 'up', 'plans/demo.yaml', '--sim-port', String(heldPort)], {
          cwd: ROOT,
          env: { ...process.env, KOKEX_HOME: home, NATS_URL: '', LOG_LEVEL: 'error' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
      });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`port ${heldPort} is in use`);
      expect(r.stderr).toContain('--sim-port N (0 picks a free port)');
      // Nothing started: no embedded server line.
      expect(r.stdout).not.toContain('nats-server (embedded)');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('reaches every okx adapter of the host as a default under the actor and plan settings', async () => {
    const registry = new AdapterRegistry();
    const seen: unknown[] = [];
    registry.register({ port: 'exchange', name: 'okx', create: (config: unknown) => (seen.push(config), {}) });
    registry.setDefaults('okx', { simPort: 4000, simHost: 'h' });
    await registry.resolve('exchange', 'okx', { mode: 'sim' });
    await registry.resolve('exchange', 'okx', { mode: 'sim', simPort: 5000 });
    expect(seen).toEqual([
      { simPort: 4000, simHost: 'h', mode: 'sim' },
      { simPort: 5000, simHost: 'h', mode: 'sim' },
    ]);
  });
});
