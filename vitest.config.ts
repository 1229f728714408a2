import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources: the `kokex-source` export condition selects each workspace
// package's src/ (without it a package resolves to its compiled dist/, as a published one does).
// The list is Vitest's own default (Vite's server conditions less `module`) plus that one.
//
// Every integration suite starts its own nats-server, so files run in separate processes; two at a
// time fits the 2-core CI machines.
export default defineConfig({
  ssr: { resolve: { conditions: ['kokex-source', 'node', 'development|production'] } },
  test: {
    include: [
      'core/test/**/*.test.ts',
      'actors/*/test/**/*.test.ts',
      'plugins/*/test/**/*.test.ts',
      'models/*/test/**/*.test.ts',
      'deploy/test/**/*.test.ts',
    ],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
