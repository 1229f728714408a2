import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { GREEDY, KronosModel, SESSION_DEFAULTS, sessionOptions } from '../src/index.js';
import { futureTimes, randomWalk, SHIPPED_DIR } from './support.js';

/** Session settings: the measured defaults reach ONNX Runtime, and no setting changes a forecast. */
describe('session settings', () => {
  it('defaults to no spinning, every logical CPU, sequential execution, full optimization', () => {
    const o = sessionOptions('cpu');
    expect(o.extra).toEqual({ session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
    expect(o).toMatchObject({
      intraOpNumThreads: availableParallelism(),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      enableMemPattern: true,
    });
    expect(SESSION_DEFAULTS.spinning).toBe(false);
    const custom = sessionOptions('cpu', { spinning: true, intraOpThreads: 1, optimizationLevel: 'basic', memoryArena: false });
    expect(custom).toMatchObject({ intraOpNumThreads: 1, graphOptimizationLevel: 'basic', enableCpuMemArena: false });
    expect(custom.extra).toEqual({ session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } } });
  });

  it('gives the same forecast under other settings', async () => {
    const candles = randomWalk(60, 21);
    const r = { candles, futureTs: futureTimes(candles, 8), paths: 3, sampling: GREEDY, seed: 1 };
    const a = await KronosModel.load({ dir: SHIPPED_DIR });
    const b = await KronosModel.load(
      { dir: SHIPPED_DIR },
      { intraOpThreads: 1, optimizationLevel: 'basic', memoryArena: false, memoryPattern: false },
    );
    try {
      const [x] = await a.forecast([r]);
      const [y] = await b.forecast([r]);
      expect(Array.from(y?.s1 ?? [])).toEqual(Array.from(x?.s1 ?? []));
      expect(Array.from(y?.s2 ?? [])).toEqual(Array.from(x?.s2 ?? []));
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });
});
