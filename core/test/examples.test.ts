import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlansFile } from '../src/index.js';

const dir = resolve(__dirname, '../../examples');

describe('example plans', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();

  it('exist beyond the demo and are each listed in examples/README.md', async () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    const readme = await readFile(resolve(dir, 'README.md'), 'utf8');
    for (const f of files) expect(readme, f).toContain(`(${f})`);
  });

  it.each(files)('%s validates, names itself after its file and says how to run it', async (file) => {
    const path = resolve(dir, file);
    const plans = await loadPlansFile(path);
    expect(plans.length).toBeGreaterThan(0);
    const text = await readFile(path, 'utf8');
    // A commented example: the header says how to run or check it.
    expect(text.split('\n').slice(0, 12).join('\n')).toMatch(/npx kokex (up|plan validate)/);
    for (const plan of plans) expect(file.replace(/\.yaml$/, '')).toContain(plan.metadata.name.split('-').slice(0, 2).join('-'));
  });

  it('cover another instrument and timeframe, an LLM provider, paper mode and OKX demo trading', async () => {
    const plans = (await Promise.all(files.map((f) => loadPlansFile(resolve(dir, f))))).flat();
    expect(plans.some((p) => p.spec.instrument !== 'BTC-USDT-SWAP' && p.spec.timeframe !== '1m')).toBe(true);
    expect(plans.some((p) => p.spec.agent.provider !== 'offline-policy')).toBe(true);
    expect(plans.some((p) => p.spec.venue.mode === 'paper')).toBe(true);
    expect(plans.some((p) => p.spec.venue.mode === 'demo')).toBe(true);
  });
});
