import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // ONNX sessions and corpus reads are slow on a shared 2-core machine; numbers, not time, are asserted.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
