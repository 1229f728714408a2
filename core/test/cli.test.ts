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

  it('answers --help and -h on every command with its own usage, exit 0; --version too', { timeout: 120_000 }, async () => {
    const commands = ['up', 'host', 'plan', 'actors', 'plugin', 'tail', 'streams', 'services', 'deploy', 'completion'];
    const answers = await Promise.all(commands.map((command) => kokex([command, '--help'])));
    commands.forEach((command, i) => {
      expect(answers[i]?.code, command).toBe(0);
      expect(answers[i]?.stdout, command).toMatch(new RegExp(`^usage: kokex ${command}`));
    });
    // Plugin commands too, answered by the host from their declared usage.
    const pull = await kokex(['data', 'pull', '-h']);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/^usage: kokex data pull/);
    const sim = await kokex(['sim', 'okx', '--help']);
    expect(sim).toMatchObject({ code: 0 });
    expect(sim.stdout).toMatch(/^usage: kokex sim okx/);
    const v = await kokex(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('refuses --json where a command has none, and a missing plan before starting anything', async () => {
    const json = await kokex(['deploy', 'nats', '--json']);
    expect(json).toMatchObject({ code: 2, stderr: 'kokex: kokex deploy has no --json output\n' });
    const up = await kokex(['up', 'plans/nosuch.yaml']);
    expect(up.code).toBe(1);
    expect(up.stderr).toBe('kokex: plan file plans/nosuch.yaml: not found\n');
    const format = await kokex(['actors', '--log-format', 'xml']);
    expect(format).toMatchObject({ code: 2, stderr: 'kokex: --log-format must be text or json, got "xml"\n' });
    const shell = await kokex(['completion', 'fish']);
    expect(shell.code).toBe(2);
    const bash = await kokex(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -F _kokex kokex');
    expect(bash.stdout).toMatch(/compgen -W "[^"]*\bdata\b[^"]*\bplan\b/);
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

  it('applies a plan, lists it, and shows live actors and streams', { timeout: 120_000 }, async () => {
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

  it('speaks JSON on every listing command, and plan rm of a missing plan fails naming what is there', async () => {
    const env = { NATS_URL: nats.url };
    const host = new ActorHost({ bus: nats.bus, log: captureLogger('warn').log, heartbeatMs: 100 });
    await host.loadPlugin(CLOCK_PLUGIN);
    await host.start();
    try {
      await kokex(['plan', 'apply', 'plans/demo.yaml'], env);
      // Each is its own process: run them side by side (a loaded machine starts tsx slowly).
      const [actors, plans, streams, services, plugins, rm] = await Promise.all([
        kokex(['actors', '--json'], env),
        kokex(['plan', 'ls', '--json'], env),
        kokex(['streams', '--json'], env),
        kokex(['services', '--json'], env),
        kokex(['plugin', 'ls', '--json'], env),
        kokex(['plan', 'rm', 'nosuch'], env),
      ]);
      const actorsJson = JSON.parse(actors.stdout) as Array<{ kind: string; instanceId: string }>;
      expect(actorsJson.map((a) => a.kind)).toContain('clock');
      const plansJson = JSON.parse(plans.stdout) as Array<{ name: string; plan: { spec: { instrument: string } } }>;
      expect(plansJson.find((p) => p.name === 'demo')?.plan.spec.instrument).toBe('BTC-USDT-SWAP');
      const streamsJson = JSON.parse(streams.stdout) as Array<{ name: string }>;
      expect(streamsJson.map((x) => x.name)).toContain('CLOCK');
      const servicesJson = JSON.parse(services.stdout) as Array<{ name: string }>;
      expect(servicesJson.map((x) => x.name)).toContain('kokex-clock');
      const pluginsJson = JSON.parse(plugins.stdout) as Array<{ name: string; actors: string[] }>;
      expect(pluginsJson).toEqual([{ host: host.hostId, name: '@kokex/actor-clock', version: '0.1.0', actors: ['clock'] }]);
      expect(rm.code).toBe(1);
      expect(rm.stderr).toMatch(/^kokex: no plan named nosuch \(stored: .*demo/);
    } finally {
      await host.stop();
    }
  }, 120_000);
});
