import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// The build goes straight into the Python package, which serves it (src/trackline/server/static).
export default defineConfig({
  plugins: [svelte()],
  base: '/',
  build: {
    outDir: '../src/trackline/server/static',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev` proxies the API to a running `trackline ui`.
    proxy: { '/api': 'http://127.0.0.1:7878' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
