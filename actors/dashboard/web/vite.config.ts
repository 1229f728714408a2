import { defineConfig } from 'vite';

// The dashboard's web app: one page, every asset bundled (no CDN), built into ../dist-web.
// `npm run build -w @kokex/actor-dashboard` runs `vite build web`; the actor builds it on first start.
export default defineConfig({
  base: './',
  build: {
    outDir: '../dist-web',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
    // Inline nothing from the network: assets stay files next to index.html.
    assetsInlineLimit: 0,
  },
  logLevel: 'warn',
});
