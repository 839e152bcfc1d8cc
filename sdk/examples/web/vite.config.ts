// The demo as a dApp builds it: the SDK by its package name, umbral-pre's WebAssembly through
// the bundler (its browser build imports the .wasm module as ESM).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import wasm from 'vite-plugin-wasm';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [wasm()],
  resolve: { alias: { '@kms-chain/sdk': fileURLToPath(new URL('../../src/index.ts', import.meta.url)) } },
  build: { target: 'esnext', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096 },
  logLevel: 'warn',
});
