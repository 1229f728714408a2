#!/usr/bin/env node
// The kokex CLI. In a checkout it runs the TypeScript sources through tsx (no build step needed);
// a published package (no src/ beside bin/) or KOKEX_RUN=dist runs the compiled build in dist/,
// which is also `node core/dist/cli/main.js`.
import { existsSync } from 'node:fs';

const fromSource = process.env.KOKEX_RUN !== 'dist' && existsSync(new URL('../src/cli/main.ts', import.meta.url));
if (fromSource) {
  await import('./source.mjs');
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
