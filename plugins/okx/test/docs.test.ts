import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SimErrorCode } from '@kokex/plugin-okx-sim';
import { describe, expect, it } from 'vitest';
import { OkxErrorCode } from '../src/index.js';

describe('docs/errors.md', () => {
  it('lists every OKX adapter and simulator code and no other', async () => {
    const text = await readFile(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `(OKX_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual([...Object.values(OkxErrorCode), ...Object.values(SimErrorCode)].sort());
  });
});
