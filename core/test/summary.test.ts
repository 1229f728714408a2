import { describe, expect, it } from 'vitest';
import { applyFill } from '../src/cli/summary.js';

describe('live summary position keeping', () => {
  it('averages entries, realizes on reduction, flips through zero', () => {
    const book = { size: 0, avgPrice: 0, realized: 0, fees: 0 };
    applyFill(book, 1, 100, 0.1);
    applyFill(book, 1, 110, 0.1);
    expect(book).toMatchObject({ size: 2, avgPrice: 105 });
    applyFill(book, -1, 120, 0.1);
    expect(book).toMatchObject({ size: 1, avgPrice: 105, realized: 15 });
    applyFill(book, -3, 100, 0.1);
    expect(book.size).toBe(-2);
    expect(book.avgPrice).toBe(100);
    expect(book.realized).toBeCloseTo(10);
    expect(book.fees).toBeCloseTo(0.4);
    applyFill(book, 2, 90, 0);
    expect(book).toMatchObject({ size: 0, avgPrice: 0 });
    expect(book.realized).toBeCloseTo(30);
  });
});
