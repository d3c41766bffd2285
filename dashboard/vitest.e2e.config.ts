import { defineConfig } from 'vitest/config';

// The browser tests: a real control plane and Debian's chromium (never a downloaded browser). `npm run e2e`.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: process.env.JUNIT_FILE ? ['default', ['junit', { suiteName: 'dashboard e2e' }]] : ['default'],
    outputFile: process.env.JUNIT_FILE ? { junit: process.env.JUNIT_FILE } : undefined,
  },
});
