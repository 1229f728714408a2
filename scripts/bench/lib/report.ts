import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

/**
 * What every benchmark prints beside its figures: the machine they ran on, and one way of reading
 * a percentile, so figures from different scripts compare.
 */
export function machine(extra?: string): string {
  const cpu = cpus();
  const nats = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout?.trim() || 'nats-server not found';
  const parts = [`${cpu.length} × ${cpu[0]?.model ?? 'cpu'}`, `${(totalmem() / 2 ** 30).toFixed(0)} GiB`, `node ${process.version}`, nats];
  if (extra) parts.push(extra);
  return parts.join(', ');
}

/** Nearest-rank percentile; `q` is a fraction (0.99 for p99). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}
