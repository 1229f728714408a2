import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExecErrorCode } from '@kokex/actor-executor';
import { SchedulerErrorCode } from '@kokex/actor-scheduler';
import { PaperErrorCode } from '@kokex/plugin-paper';
import { describe, expect, it } from 'vitest';
import { RiskErrorCode, RiskReason } from '../src/index.js';

/** docs/orders.md and the orders section of docs/errors.md against the code of the whole order path. */
const doc = (name: string) => readFile(resolve(import.meta.dirname, '../../../docs', name), 'utf8');

describe('the order path’s docs match the code', () => {
  it('orders.md lists every reason code, in the order the checks run, and no other', async () => {
    const listed = [...(await doc('orders.md')).matchAll(/^\| `([A-Z][A-Z_]+)` \| `/gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.values(RiskReason));
  });

  it.each([
    ['RISK', RiskErrorCode],
    ['EXEC', ExecErrorCode],
    ['PAPER', PaperErrorCode],
    ['SCHED', SchedulerErrorCode],
  ] as const)('errors.md lists every %s_ code and no other', async (prefix, codes) => {
    const listed = [...(await doc('errors.md')).matchAll(new RegExp(`^\\| \`(${prefix}_[A-Z_]+)\` \\|`, 'gm'))].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.values(codes).sort());
  });
});
