import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyPlan, walkBars, writeData } from './fixtures/backtest-data.js';

const ROOT = resolve(__dirname, '../..');
const BIN = resolve(ROOT, 'core/bin/kokex.mjs');
const T0 = Date.UTC(2026, 0, 1);
let root: string;

function kokex(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'error', KOKEX_DATA_DIR: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kokex-bt-cli-'));
  await writeFile(join(root, 'plan.yaml'), tinyPlan('cli'));
  const rows = walkBars({ start: T0, count: 90, price: 43_000, seed: 3 });
  rows.splice(70, 1, rows[70]?.replace(/^(\d+),[^,]+/, '$1,not-a-price') as string);
  await writeData(join(root, 'bad'), 'okx_BTC-USDT-SWAP_1m_2026-01.csv', rows);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('kokex backtest on the command line', () => {
  it('stops on bad input with one line naming file and line, before anything starts; usage errors exit 2', {
    timeout: 180_000,
  }, async () => {
    const plan = join(root, 'plan.yaml');
    const [bad, noData, gaps, help] = await Promise.all([
      kokex(['backtest', plan, '--data', join(root, 'bad')]),
      kokex(['backtest', plan]),
      kokex(['backtest', plan, '--data', join(root, 'bad'), '--gaps', 'fill']),
      kokex(['backtest', '--help']),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^kokex: okx_BTC-USDT-SWAP_1m_2026-01\.csv:72: open "not-a-price" is not a valid number/);
    expect(bad.stdout).not.toContain('backtest');
    expect(noData.code).toBe(2);
    expect(noData.stderr).toContain('needs --data DIR');
    expect(gaps.code).toBe(2);
    expect(gaps.stderr).toContain('--gaps must be error or carry');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('kokex backtest compare <run> <run>');
  });
});
