import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/index.js';

describe('seededRandom', () => {
  it('draws the same numbers for the same seed, in [0, 1), and others for another seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const drawsA = Array.from({ length: 1000 }, () => a());
    const drawsB = Array.from({ length: 1000 }, () => b());
    expect(drawsA).toEqual(drawsB);
    expect(drawsA.every((x) => x >= 0 && x < 1)).toBe(true);
    const c = seededRandom(8);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(drawsA);
    // Roughly uniform: the mean of a thousand draws is near one half.
    const mean = drawsA.reduce((s, x) => s + x, 0) / drawsA.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});
