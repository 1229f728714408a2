import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DashboardErrorCode, dashboardActor } from '../src/index.js';

/** docs/dashboard.md stays true: every error code and every subject the dashboard may publish is in it. */
const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/dashboard.md'), 'utf8');

describe('docs/dashboard.md', () => {
  it('lists every error code', () => {
    for (const code of Object.values(DashboardErrorCode)) expect(doc, code).toContain(`\`${code}\``);
  });
  it('names the bus requests the controls make', () => {
    const publish = dashboardActor.access?.([])?.publish ?? [];
    for (const s of publish.filter((p) => p.startsWith('kokex.'))) {
      const tokens = s.split('.');
      const fixed = tokens
        .slice(
          0,
          tokens.findIndex((t) => t === '*' || t === '>'),
        )
        .join('.');
      expect(doc, s).toContain(`${fixed}.`);
      const verb = tokens.at(-1) as string;
      if (verb !== '*' && verb !== '>') expect(doc, s).toContain(verb);
    }
    expect(doc).toContain('`control.{plan}`');
  });
});
