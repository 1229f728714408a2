import { defineConfig } from 'vitest/config';

// Every integration suite starts its own nats-server, so files run in separate processes; two at a
// time fits the 2-core CI machines.
export default defineConfig({
  test: {
    include: ['core/test/**/*.test.ts', 'actors/*/test/**/*.test.ts', 'plugins/*/test/**/*.test.ts', 'models/*/test/**/*.test.ts', 'deploy/test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
