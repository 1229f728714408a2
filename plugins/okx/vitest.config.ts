import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The workspace packages' TypeScript sources (the `kokex-source` export condition), as the root config.
  ssr: { resolve: { conditions: ['kokex-source', 'node', 'development|production'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 15_000,
  },
});
