import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LlmErrorCode } from '../src/index.js';

describe('docs/errors.md', () => {
  it('lists every LLM provider code, with its retryable flag, and no other', async () => {
    const text = await readFile(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `(LLM_[A-Z_]+)` \| (yes|no) \|/gm)].map((m) => [m[1], m[2]]);
    expect(listed.map(([code]) => code).sort()).toEqual(Object.values(LlmErrorCode).sort());
    // The flag in the docs is the flag the error carries.
    const retryable = new Set(['LLM_RATE_LIMITED', 'LLM_SERVER', 'LLM_TIMEOUT', 'LLM_TRANSPORT', 'LLM_STREAM_BROKEN']);
    for (const [code, flag] of listed) expect(`${code} ${flag}`).toBe(`${code} ${retryable.has(code as string) ? 'yes' : 'no'}`);
  });
});
