import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, KOKEX_TOPOLOGY, SUBJECT_FAMILIES } from '../src/index.js';

const docs = (name: string) => readFile(resolve(__dirname, '../../docs', name), 'utf8');

describe('reference docs match the code', () => {
  it('errors.md lists every core error code and no other', async () => {
    const text = await docs('errors.md');
    const listed = [...text.matchAll(/^\| `(KOKEX_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.values(ErrorCode).sort());
  });

  it('subjects.md shows every subject family with its exact pattern', async () => {
    const text = await docs('subjects.md');
    for (const [family, def] of Object.entries(SUBJECT_FAMILIES)) {
      const pattern = [...def.head, ...def.keys.map((k) => `{${k}}`)].join('.');
      expect(text, `family ${family}`).toContain(`| ${family} | \`${pattern}\` |`);
    }
  });

  it('subjects.md lists every stream with its subjects, and every bucket', async () => {
    const text = await docs('subjects.md');
    for (const s of KOKEX_TOPOLOGY.streams) expect(text).toContain(`| ${s.name} | ${s.subjects.map((x) => `\`${x}\``).join(', ')} |`);
    for (const k of KOKEX_TOPOLOGY.kv) expect(text).toContain(`| ${k.bucket} | KV`);
    for (const o of KOKEX_TOPOLOGY.objectStores) expect(text).toContain(`| ${o.bucket} | object store |`);
  });
});
