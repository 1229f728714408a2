import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BinanceErrorCode } from '../src/index.js';

describe('docs/errors.md', () => {
  it('lists every Binance adapter code and no other', async () => {
    const text = await readFile(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `(BINANCE_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.values(BinanceErrorCode).sort());
  });
});
