// Runs this process from the TypeScript sources: tsx's loader, and the `kokex-source` export
// condition so every workspace package (`@kokex/*`) resolves to its src/ rather than its compiled
// dist/. Import it first: `node --import @kokex/core/source script.ts`, or `import '@kokex/core/source'`.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./source-hooks.mjs', import.meta.url);
