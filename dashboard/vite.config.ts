import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The control plane serves dist/ at / (same origin as /api/v1), so the build needs no base path or proxy.
// `npm run dev` proxies /api to a control plane on WARPDRIVE_SERVER (default http://127.0.0.1:8090).
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { '/api': process.env.WARPDRIVE_SERVER ?? 'http://127.0.0.1:8090' } },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    // hack/test.sh sums JUnit files in artifacts/test-results; the console keeps the usual summary.
    reporters: process.env.JUNIT_FILE ? ['default', ['junit', { suiteName: 'dashboard unit' }]] : ['default'],
    outputFile: process.env.JUNIT_FILE ? { junit: process.env.JUNIT_FILE } : undefined,
  },
});
