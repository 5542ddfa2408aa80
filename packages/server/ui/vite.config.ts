import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web UI: a static bundle under dist/ui, served by the server at /ui/.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // Assets are files: nothing inlined as data: URLs, so the CSP needs no exception.
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1_000,
    rolldownOptions: {
      // React Flow's "use client" marker means nothing in a client-only bundle.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
