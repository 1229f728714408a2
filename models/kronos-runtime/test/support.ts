import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CandleRow } from '../src/index.js';

/** Shared by the runtime's tests: where the shipped model is, and a deterministic candle series. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHIPPED_DIR = resolve(REPO_ROOT, 'models/kronos/shipped');
export const PYTHON = process.env.KOKEX_PYTHON ?? '/usr/bin/python3';
export const HOUR = 3_600_000;

/** Why the PyTorch reference cannot run here, or undefined when it can. */
export function pythonReferenceProblem(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist (Debian's python3 with python3-torch is needed)`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `${PYTHON} cannot import torch and numpy (apt-get install -y python3-torch python3-numpy)`;
  return undefined;
}

/** A seeded random walk around 30,000 with hourly bars from 2026-01-01. */
export function randomWalk(count: number, seed = 1, start = Date.UTC(2026, 0, 1)): CandleRow[] {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const rows: CandleRow[] = [];
  let close = 30_000;
  for (let i = 0; i < count; i++) {
    const open = close;
    close = open * Math.exp(0.01 * normal());
    const high = Math.max(open, close) * (1 + Math.abs(0.003 * normal()));
    const low = Math.min(open, close) * (1 - Math.abs(0.003 * normal()));
    rows.push({ ts: start + i * HOUR, open, high, low, close, volume: Math.abs(100 + 30 * normal()) });
  }
  return rows;
}

export function futureTimes(candles: readonly CandleRow[], horizon: number): number[] {
  const last = candles[candles.length - 1]?.ts ?? 0;
  return Array.from({ length: horizon }, (_, k) => last + (k + 1) * HOUR);
}
