import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorHost, freePort } from '../src/index.js';
import { captureLogger, startTestNats, type TestNats } from '../src/testing/index.js';
import { CLOCK_PLUGIN } from './support.js';

const ROOT = resolve(__dirname, '../..');
const BIN = resolve(ROOT, 'core/bin/kokex.mjs');

function kokex(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'error', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

let nats: TestNats;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('kokex CLI', () => {
  it('answers a wrong command or option with one line and exit code 2', async () => {
    const unknown = await kokex(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('kokex: unknown command "frobnicate"; run kokex --help\n');
    const badOption = await kokex(['actors', '--bogus']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr.trim().split('\n')).toHaveLength(1);
    expect(badOption.stderr).toMatch(/^kokex: Unknown option '--bogus'/);
    const host = await kokex(['host']);
    expect(host.code).toBe(2);
    expect(host.stderr).toBe('kokex: host needs --actors kind,… (use `up` to run every kind)\n');
  });

  it('says in one line when NATS is unreachable', async () => {
    const port = await freePort();
    const r = await kokex(['actors'], { NATS_URL: `nats://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`kokex: cannot reach NATS at nats://127.0.0.1:${port}`);
    expect(r.stderr).toContain('npx kokex up');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('validates plans and reports a bad one with file, line and column', async () => {
    const ok = await kokex(['plan', 'validate', 'plans/demo.yaml']);
    expect(ok).toMatchObject({ code: 0, stdout: 'plans/demo.yaml: ok (plan demo, okx BTC-USDT-SWAP 1m)\n' });
    const bad = await kokex(['plan', 'validate', 'core/test/fixtures/plans/timeframe-lowercase.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/timeframe-lowercase\.yaml:\d+:\d+: spec\.timeframe: expected one of .* found "1h"; did you mean "1H"\?/);
    const missing = await kokex(['plan', 'validate', 'plans/nope.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('plans/nope.yaml');
  });

  it('applies a plan, lists it, and shows live actors and streams', async () => {
    const env = { NATS_URL: nats.url };
    const host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log, heartbeatMs: 100 });
    await host.loadPlugin(CLOCK_PLUGIN);
    await host.start();
    try {
      const applied = await kokex(['plan', 'apply', 'plans/demo.yaml'], env);
      expect(applied.stdout).toMatch(/^plan demo: created \(revision \d+; changed: /);
      const again = await kokex(['plan', 'apply', 'plans/demo.yaml'], env);
      expect(again.stdout).toBe('plan demo: unchanged\n');
      const ls = await kokex(['plan', 'ls'], env);
      expect(ls.stdout).toMatch(/^PLAN\s+REV\s+VENUE\s+MODE\s+INSTRUMENT\s+TF/);
      expect(ls.stdout).toMatch(/\ndemo\s+\d+\s+okx\s+sim\s+BTC-USDT-SWAP\s+1m/);
      const actors = await kokex(['actors'], env);
      const inst = host.instances()[0]!;
      expect(actors.code).toBe(0);
      expect(actors.stdout).toMatch(new RegExp(`\\nclock\\s+${inst.instanceId}\\s+running\\s+0\\.1\\.0\\s+${host.hostId}\\s+0`));
      const streams = await kokex(['streams'], env);
      expect(streams.stdout).toMatch(/\nCLOCK\s+kokex\.clock\.>/);
      const plugins = await kokex(['plugin', 'ls'], env);
      expect(plugins.stdout).toBe(`${host.hostId}: @kokex/actor-clock@0.1.0 (clock)\n`);
      const services = await kokex(['services'], env);
      expect(services.stdout).toMatch(/kokex-clock\s+0\.1\.0\s+clock-/);
    } finally {
      await host.stop();
    }
  });
});
