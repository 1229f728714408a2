import { describe, expect, it } from 'vitest';
import { SlotCache } from '../src/cache.js';

describe('SlotCache.write', () => {
  // Two copy paths (a loop for short rows, a native copy for long ones): both must lay out the same.
  for (const dim of [16, 31, 32, 64]) {
    it(`writes [rows, heads, 1, ${dim}] at an offset into its slot of every (row, head)`, () => {
      const rows = 3;
      const heads = 2;
      const capacity = 4;
      const cache = new SlotCache(rows, heads, capacity, dim);
      const offset = 5;
      const src = Float32Array.from({ length: offset + rows * heads * dim + 7 }, (_, i) => i + 0.5);
      cache.write(2, src, offset);
      for (let rh = 0; rh < rows * heads; rh++) {
        for (let slot = 0; slot < capacity; slot++) {
          const at = (rh * capacity + slot) * dim;
          const got = Array.from(cache.data.subarray(at, at + dim));
          const want = slot === 2 ? Array.from(src.subarray(offset + rh * dim, offset + (rh + 1) * dim)) : new Array(dim).fill(0);
          expect(got).toEqual(want);
        }
      }
      cache.write(capacity, src, 0); // past the last slot: nothing moves
      expect(cache.data.filter((v) => v !== 0).length).toBe(rows * heads * dim);
    });
  }
});
